#!/usr/bin/env node
/**
 * `next-channels-dev [--watch <path>]... <server file> [args...]`: runs a development server
 * under its supervisor (see `superviseDevServer`).
 */
import { superviseDevServer } from './supervisor';

const watch: string[] = [];
const argv = process.argv.slice(2);
while (argv[0] === '--watch' && argv[1] !== undefined) {
  watch.push(argv[1]);
  argv.splice(0, 2);
}
const [serverFile, ...args] = argv;
if (!serverFile) {
  process.stderr.write('usage: next-channels-dev [--watch <path>]... <server file> [args...]\n');
  process.exit(2);
}
superviseDevServer({ serverFile, args, ...(watch.length > 0 ? { watch } : {}) });

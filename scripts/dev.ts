/**
 * `npm run dev`: runs server.ts in development. Code changes apply inside that process (see
 * server.ts); this supervisor only gives it a fresh process when it asks (exit code 75: a restart
 * in place failed, or the server could not start), waiting for the next change to the code when
 * it failed right away, so a file saved half-written does not loop. Signals are passed on.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { type FSWatcher, watch } from 'node:fs';
import path from 'node:path';

const RESTART_EXIT_CODE = 75;
const root = path.join(__dirname, '..');
let child: ChildProcess;
let stopping = false;

function start(): void {
  const startedAt = Date.now();
  child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'server.ts')], {
    stdio: 'inherit',
    // The server runs production unless told otherwise.
    env: { ...process.env, NODE_ENV: 'development', DEV_SUPERVISOR: '1', NEXT_TELEMETRY_DISABLED: '1' },
  });
  child.on('exit', (code, signal) => {
    if (code !== RESTART_EXIT_CODE || stopping) {
      process.exit(code ?? (signal ? 1 : 0));
    }
    if (Date.now() - startedAt > 3_000) {
      start();
      return;
    }
    process.stderr.write('the server could not start; waiting for a change to the code\n');
    const watchers: FSWatcher[] = [];
    const again = (): void => {
      for (const watcher of watchers) watcher.close();
      start();
    };
    watchers.push(watch(path.join(root, 'lib'), { recursive: true }, again), watch(path.join(root, 'server.ts'), again));
  });
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    stopping = true;
    if (child.exitCode !== null || child.signalCode !== null) process.exit(0);
    child.kill(signal);
  });
}

start();

/**
 * `npm run dev`: runs server.ts in development and restarts it when it asks (exit code 75: a
 * change that cannot be reloaded in place). Pages reconnect and resume by themselves. Signals
 * are passed on; the supervisor exits with the server's code otherwise.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';

const RESTART_EXIT_CODE = 75;
const server = path.join(__dirname, '..', 'server.ts');
let child: ChildProcess;
let stopping = false;

function start(): void {
  child = spawn(process.execPath, ['--import', 'tsx', server], {
    stdio: 'inherit',
    env: { ...process.env, DEV_SUPERVISOR: '1', NEXT_TELEMETRY_DISABLED: '1' },
  });
  child.on('exit', (code, signal) => {
    if (code === RESTART_EXIT_CODE && !stopping) {
      start();
      return;
    }
    process.exit(code ?? (signal ? 1 : 0));
  });
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    stopping = true;
    child.kill(signal);
  });
}

start();

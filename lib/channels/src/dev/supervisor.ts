import { type ChildProcess, spawn } from 'node:child_process';
import { type FSWatcher, readdirSync, statSync, watch } from 'node:fs';
import path from 'node:path';

/**
 * The exit code with which a development server asks its supervisor for a fresh process: a
 * restart in place failed, or the server could not start.
 */
export const RESTART_EXIT_CODE = 75;

/** How {@link superviseDevServer} runs the server. */
export interface DevSupervisorOptions {
  /** The server file (`server.ts` runs through tsx, which must be installed; `.js` as is). */
  readonly serverFile: string;
  /**
   * What to watch for a fix after a failed start (default: the server file's folder), with the
   * folders below, but `node_modules` and hidden ones (`.next`, `.git`).
   */
  readonly watch?: readonly string[];
  /** Arguments after the server file. */
  readonly args?: readonly string[];
  /** A start that fails sooner than this waits for a change to the code (default 3 s). */
  readonly quickFailMs?: number;
}

/**
 * Runs the server file in development and gives it a fresh process whenever it exits with
 * {@link RESTART_EXIT_CODE}; when it failed right away (a file saved half-written), waits for the
 * next change to the code first, so it does not loop. SIGINT and SIGTERM are passed on; the
 * supervisor exits with the server's code. `next-channels-dev <server file>` runs this.
 *
 * @example
 * ```ts
 * import { superviseDevServer } from 'next-channels/dev';
 * superviseDevServer({ serverFile: 'server.ts' });
 * ```
 */
export function superviseDevServer(options: DevSupervisorOptions): void {
  const serverFile = path.resolve(options.serverFile);
  const watched = (options.watch ?? [path.dirname(serverFile)]).map((target) => path.resolve(target));
  const quickFailMs = options.quickFailMs ?? 3_000;
  let child: ChildProcess;
  let stopping = false;

  const start = (): void => {
    const startedAt = Date.now();
    const runner = /\.[cm]?tsx?$/.test(serverFile) ? ['--import', 'tsx'] : [];
    child = spawn(process.execPath, [...runner, serverFile, ...(options.args ?? [])], {
      stdio: 'inherit',
      // A server runs production unless told otherwise.
      env: { ...process.env, NODE_ENV: 'development', DEV_SUPERVISOR: '1', NEXT_TELEMETRY_DISABLED: '1' },
    });
    child.on('exit', (code, signal) => {
      if (code !== RESTART_EXIT_CODE || stopping) process.exit(code ?? (signal ? 1 : 0));
      if (Date.now() - startedAt > quickFailMs) {
        start();
        return;
      }
      const watchers: FSWatcher[] = [];
      let restarted = false;
      const again = (): void => {
        // One save can raise several events, from several watchers: one start.
        if (restarted) return;
        restarted = true;
        for (const watcher of watchers) watcher.close();
        watchers.length = 0;
        start();
      };
      for (const target of watched) for (const folder of sourceFolders(target)) watchers.push(watch(folder, again));
      // Said once the watchers are in place: a save made as soon as this is read is seen.
      process.stderr.write('the server could not start; waiting for a change to the code\n');
    });
  };

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      stopping = true;
      if (child.exitCode !== null || child.signalCode !== null) process.exit(0);
      child.kill(signal);
    });
  }
  start();
}

/** `target` if a file; else the folder and those below it, but node_modules and hidden ones. */
function sourceFolders(target: string): string[] {
  if (!statSync(target).isDirectory()) return [target];
  const found = [target];
  for (const entry of readdirSync(target, { withFileTypes: true })) {
    if (entry.isDirectory() && entry.name !== 'node_modules' && !entry.name.startsWith('.')) found.push(...sourceFolders(path.join(target, entry.name)));
  }
  return found;
}

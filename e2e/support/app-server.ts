/**
 * Runs the real server (server.ts) as its own process on a free port, with its data in a
 * temporary folder. Production runs the compiled build (`npm run build` first); development runs
 * server.ts through tsx, with a Next folder of its own so it never competes with a developer's
 * `npm run dev`. A server can be stopped and started again on the same port and data, as a
 * restart in production would.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, type Placement } from '../../lib/testing/engines';

export const PROJECT_ROOT = path.resolve(__dirname, '..', '..');
export const ADMIN_TOKEN = 'e2e-admin-token-0123456789';

export type ServerMode = 'production' | 'development';

export interface StartOptions {
  readonly mode?: ServerMode;
  /** Variables beside the defaults below; `undefined` leaves one out of the server's environment. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly timeoutMs?: number;
  /** Options for node itself, before the script (production only): `--cpu-prof`, say. */
  readonly nodeOptions?: readonly string[];
  /** Run inside a network namespace, listening on one of its addresses (the fault tests); default 127.0.0.1 on a free port. */
  readonly placement?: Placement;
}

export interface StopOptions {
  /** A server still running this long after the signal is killed and the stop fails (default 20 s). */
  readonly deadlineMs?: number;
}

/** The server did not exit in time after a signal: it was killed, and its shutdown is broken. */
export class ShutdownTimeout extends Error {
  readonly signal: NodeJS.Signals;
  readonly deadlineMs: number;

  constructor(signal: NodeJS.Signals, deadlineMs: number, output: string) {
    super(`the server did not exit within ${deadlineMs} ms of ${signal}; killed its process group. Its last output:\n${output}`);
    this.name = 'ShutdownTimeout';
    this.signal = signal;
    this.deadlineMs = deadlineMs;
  }
}

const STILL_RUNNING: unique symbol = Symbol('still running');

export class AppServer {
  readonly port: number;
  /** The address it listens on. */
  readonly host: string;
  readonly mode: ServerMode;
  readonly #dataDir: string;
  readonly #options: StartOptions;
  #process: ChildProcess | null = null;
  #exited: Promise<number | null> = Promise.resolve(null);
  #output = '';

  private constructor(port: number, dataDir: string, options: StartOptions) {
    this.port = port;
    this.host = options.placement?.host ?? '127.0.0.1';
    this.mode = options.mode ?? 'production';
    this.#dataDir = dataDir;
    this.#options = options;
  }

  /** Starts a server and resolves once it listens. */
  static async start(options: StartOptions = {}): Promise<AppServer> {
    const server = new AppServer(options.placement?.port ?? (await freePort()), await mkdtemp(path.join(tmpdir(), 'chat-e2e-')), options);
    try {
      await server.restart();
    } catch (error) {
      await server.dispose();
      throw error;
    }
    return server;
  }

  /** The origin a browser sees, and allowed by default. */
  get origin(): string {
    return `http://localhost:${this.port}`;
  }

  get http(): string {
    return `http://${this.host}:${this.port}`;
  }

  get ws(): string {
    return `ws://${this.host}:${this.port}`;
  }

  get pid(): number | undefined {
    return this.#process?.pid;
  }

  /** The running process, to signal it directly. */
  get process(): ChildProcess | null {
    return this.#process;
  }

  /** Everything the server wrote, for assertions and failure messages. */
  output(): string {
    return this.#output;
  }

  /** The folder where the server keeps its data (its SQLite database is `chat.db` there). */
  get dataDir(): string {
    return this.#dataDir;
  }

  /** Resolves when the server has written something that matches `pattern`. */
  waitForOutput(pattern: RegExp): Promise<void> {
    const child = this.#process;
    if (pattern.test(this.#output)) return Promise.resolve();
    if (!child) return Promise.reject(new Error('the server is not running'));
    return new Promise((resolve) => {
      const check = (): void => {
        if (!pattern.test(this.#output)) return;
        child.stdout?.off('data', check);
        resolve();
      };
      child.stdout?.on('data', check);
    });
  }

  /** Starts the process (again) on the same port and data folder; resolves once it listens. */
  async restart(): Promise<void> {
    if (this.#process) throw new Error('the server is running');
    // Development runs what `npm run dev` runs: the supervisor that restarts server.ts on demand.
    const args =
      this.mode === 'production'
        ? [...(this.#options.nodeOptions ?? []), path.join(PROJECT_ROOT, 'dist', 'server.js')]
        : [
            path.join(PROJECT_ROOT, 'node_modules', '.bin', 'next-channels-dev'),
            ...['lib', 'routing.ts', 'server.ts'].flatMap((watched) => ['--watch', path.join(PROJECT_ROOT, watched)]),
            path.join(PROJECT_ROOT, 'server.ts'),
          ];
    const env: Record<string, string | undefined> = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NEXT_TELEMETRY_DISABLED: '1',
      // As users run them: `npm start` sets NODE_ENV=production; `npm run dev` sets nothing,
      // its supervisor asks for development itself.
      ...(this.mode === 'production' ? { NODE_ENV: 'production' } : {}),
      PORT: String(this.port),
      HOST: this.host,
      DATA_DIR: this.#dataDir,
      ADMIN_TOKEN,
      LOG_LEVEL: 'info',
      // The tests' Node 24 pass loads a better-sqlite3 addon built for it (scripts/node24.sh).
      SQLITE_NATIVE_BINDING: process.env.SQLITE_NATIVE_BINDING,
      ...(this.mode === 'development' ? { NEXT_DIST_DIR: '.next-e2e-dev' } : {}),
      ...this.#options.env,
    };
    const placement = this.#options.placement;
    const [file, fileArgs] = placement ? ['ip', ['netns', 'exec', placement.namespace, process.execPath, ...args]] : [process.execPath, args];
    const child = spawn(file, fileArgs, {
      cwd: PROJECT_ROOT,
      // spawn leaves out the variables set to undefined.
      env: env as NodeJS.ProcessEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group: SIGKILL reaches the dev supervisor's server child too.
      detached: true,
    });
    this.#process = child;
    const startedAt = this.#output.length;
    child.stdout.on('data', (chunk: Buffer) => (this.#output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (this.#output += chunk.toString()));
    this.#exited = new Promise((resolve) => {
      child.once('exit', (code) => {
        if (this.#process === child) this.#process = null;
        resolve(code);
      });
    });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`server did not start in time:\n${this.#output.slice(startedAt)}`)),
        this.#options.timeoutMs ?? 60_000,
      );
      const check = (): void => {
        if (this.#output.indexOf('"msg":"listening"', startedAt) !== -1) {
          clearTimeout(timer);
          child.stdout.off('data', check);
          resolve();
        }
      };
      child.stdout.on('data', check);
      void this.#exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`server exited with ${code} before listening:\n${this.#output.slice(startedAt)}`));
      });
    });
  }

  /**
   * Sends `signal` and resolves with the exit code (null after SIGKILL). A server still running
   * `deadlineMs` later is killed with its whole process group and the stop rejects with
   * `ShutdownTimeout`: a hung shutdown fails the test instead of hanging it.
   */
  async stop(signal: NodeJS.Signals = 'SIGTERM', { deadlineMs = 20_000 }: StopOptions = {}): Promise<number | null> {
    const child = this.#process;
    if (!child || child.exitCode !== null || child.signalCode !== null) return this.#exited;
    // SIGKILL cannot be passed on by a supervisor: kill the whole group, as a crash would.
    if (signal === 'SIGKILL') this.#killGroup(child);
    else child.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<typeof STILL_RUNNING>((resolve) => (timer = setTimeout(() => resolve(STILL_RUNNING), deadlineMs)));
    const outcome = await Promise.race([this.#exited, deadline]).finally(() => clearTimeout(timer));
    if (outcome !== STILL_RUNNING) return outcome;
    this.#killGroup(child);
    await this.#exited;
    throw new ShutdownTimeout(signal, deadlineMs, this.#output.slice(-2_000));
  }

  /** Stops the server and removes its data, even when the stop fails. */
  async dispose(): Promise<void> {
    try {
      await this.stop();
    } finally {
      await rm(this.#dataDir, { recursive: true, force: true });
    }
  }

  #killGroup(child: ChildProcess): void {
    if (child.pid === undefined) return;
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch (error) {
      // The group is already gone: nothing left to kill.
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    }
  }
}

/**
 * Starts the real server (server.ts) as its own process on a free port, with its data in a
 * temporary folder, and stops it. Production runs the compiled build (`npm run build` first);
 * development runs server.ts through tsx, with its own Next folder so it never competes with a
 * developer's `npm run dev`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const PROJECT_ROOT = path.resolve(__dirname, '..', '..');
export const ADMIN_TOKEN = 'e2e-admin-token-0123456789';

export interface AppServer {
  readonly port: number;
  readonly http: string;
  readonly ws: string;
  readonly origin: string;
  readonly process: ChildProcess;
  /** Everything the server wrote, for assertions and for failure messages. */
  readonly output: () => string;
  /** Sends `signal` and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface StartOptions {
  readonly mode?: 'production' | 'development';
  readonly env?: Readonly<Record<string, string>>;
  readonly timeoutMs?: number;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  if (typeof address !== 'object' || address === null) throw new Error('no port');
  return address.port;
}

export async function startAppServer(options: StartOptions = {}): Promise<AppServer> {
  const mode = options.mode ?? 'production';
  const port = await freePort();
  const dataDir = await mkdtemp(path.join(tmpdir(), 'chat-e2e-'));
  const args = mode === 'production' ? [path.join(PROJECT_ROOT, 'dist', 'server.js')] : ['--import', 'tsx', path.join(PROJECT_ROOT, 'server.ts')];
  const child = spawn(process.execPath, args, {
    cwd: PROJECT_ROOT,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NEXT_TELEMETRY_DISABLED: '1',
      NODE_ENV: mode,
      PORT: String(port),
      HOST: '127.0.0.1',
      DATA_DIR: dataDir,
      ADMIN_TOKEN,
      LOG_LEVEL: 'info',
      ...(mode === 'development' ? { NEXT_DIST_DIR: '.next-e2e-dev' } : {}),
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;

  const listening = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in time:\n${output}`)), options.timeoutMs ?? 60_000);
    const check = (): void => {
      if (output.includes('"msg":"listening"')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on('data', check);
    void exited.then(([code]) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before listening:\n${output}`));
    });
  });
  await listening;

  const origin = `http://localhost:${port}`;
  return {
    port,
    http: `http://127.0.0.1:${port}`,
    ws: `ws://127.0.0.1:${port}`,
    origin,
    process: child,
    output: () => output,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const [code] = await exited;
      await rm(dataDir, { recursive: true, force: true });
      return code;
    },
  };
}

/**
 * The servers under test, each started fresh for a scenario and pinned to the server core: the
 * app (the production build, one node process each), the naive baseline, the anchors (Bun's
 * WebSocket server, Socket.IO), and Redis.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AppServer, PROJECT_ROOT } from '../e2e/support/app-server';
import { freePort, PostgresServer, RedisCluster, RedisServer } from '../lib/testing/engines';
import type { Target } from './generator-protocol';
import { pin, raiseFileLimit } from './process-stats';

export const SERVER_CORE = 0;
export const GENERATOR_CORE = 1;
/** The Origin the bench's clients send, allowed by every app process (as a site's public origin). */
const BENCH_ORIGIN = 'http://chat.bench.test';

/** One server set-up as the bench sees it: where clients connect, and the processes to measure. */
export interface ServerUnderTest {
  readonly name: string;
  readonly targets: readonly Target[];
  readonly origin: string;
  /** Every process whose CPU counts as the server's (app processes, and Redis when used). */
  readonly pids: readonly number[];
  /** The process whose memory is measured per connection. */
  readonly mainPid: number;
  /** What a client waits for before it counts as connected. */
  readonly readyOn: 'open' | 'presence';
  /** How the clients reach it: a WebSocket (the default), Socket.IO over a WebSocket, or the HTTP fallback. */
  readonly transport?: 'websocket' | 'socket.io' | 'sse';
  stop(): Promise<void>;
}

function prepare(pid: number | undefined): number {
  if (pid === undefined) throw new Error('a server process has no pid');
  raiseFileLimit(pid);
  pin(pid, SERVER_CORE);
  return pid;
}

/** The naive raw `ws` server of `baseline-server.ts`. */
export function startBaseline(): Promise<ServerUnderTest> {
  return startScript('baseline', process.execPath, [...profileOptions(), '--import', 'tsx', path.join(__dirname, 'baseline-server.ts')]);
}

/** The same broadcast on Socket.IO, rooms as its rooms (`socketio-server.ts`). */
export async function startSocketIo(): Promise<ServerUnderTest> {
  const server = await startScript('socket.io', process.execPath, [...profileOptions(), '--import', 'tsx', path.join(__dirname, 'socketio-server.ts')]);
  return { ...server, transport: 'socket.io' };
}

/** The same broadcast on Bun's built-in WebSocket server, rooms as topics (`bun-server.ts`). */
export function startBun(): Promise<ServerUnderTest> {
  return startScript('bun', bunBinary(), [path.join(__dirname, 'bun-server.ts')]);
}

/**
 * Bun's binary, from the npm package `bun`: it comes in the platform's optional package
 * (`@oven/bun-linux-x64`), and the `bun` package's postinstall, where it runs, moves it to
 * `bun/bin/bun.exe` in place of a shell script that only says the postinstall did not run. So
 * the first of these that runs is the one.
 */
export function bunBinary(): string {
  const modules = path.join(PROJECT_ROOT, 'node_modules');
  const platform = `${process.platform}-${process.arch}`;
  const candidates = [
    path.join(modules, '@oven', `bun-${platform}`, 'bin', 'bun'),
    path.join(modules, '@oven', `bun-${platform}-musl`, 'bin', 'bun'),
    path.join(modules, 'bun', 'bin', 'bun.exe'),
  ];
  for (const candidate of candidates) {
    if (!existsSync(candidate)) continue;
    try {
      execFileSync(candidate, ['--version'], { stdio: 'ignore' });
      return candidate;
    } catch {
      // The placeholder script, or a binary for another libc: the next one.
    }
  }
  throw new Error(`no working Bun binary in node_modules (tried ${candidates.join(', ')}): run npm ci`);
}

/** A single-process server script that prints `"msg":"listening"` once it listens on PORT. */
async function startScript(name: string, command: string, args: readonly string[]): Promise<ServerUnderTest> {
  const port = await freePort();
  const child = spawn(command, args, {
    cwd: PROJECT_ROOT,
    env: { PATH: process.env.PATH, PORT: String(port), HOST: '127.0.0.1', NODE_ENV: 'production' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await waitForLine(child, '"msg":"listening"');
  const pid = prepare(child.pid);
  return {
    name,
    targets: [{ host: '127.0.0.1', port }],
    origin: `http://localhost:${port}`,
    pids: [pid],
    mainPid: pid,
    readyOn: 'open',
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Where several app processes meet: one Redis, or a Redis Cluster of three primaries. */
export type RedisKind = 'single' | 'cluster';

/** What a scenario may change of the app's set-up. */
export interface AppOptions {
  /** `RATE_LIMIT` (default `off`); the realistic mix runs with the product's default, `20/10s`. */
  readonly rateLimit?: string;
}

/**
 * The app's production build: `processes` node processes, every feature on, the rate limit off
 * (unless `options.rateLimit` says otherwise);
 * one process keeps its messages in SQLite in a temporary folder, several share Redis (one, or a
 * cluster of three primaries with sharded pub/sub) and PostgreSQL, as the README says to run
 * them. Redis counts as part of the server (it carries every message between the processes; on a
 * cluster, every primary counts); PostgreSQL, written once per message rather than once per
 * delivery, runs on the generator's core and is not counted.
 */
export async function startApp(processes = 1, redisKind: RedisKind = 'single', options: AppOptions = {}): Promise<ServerUnderTest> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'chat-bench-'));
  const shared = processes > 1;
  const redis = shared && redisKind === 'single' ? await RedisServer.start() : null;
  const cluster = shared && redisKind === 'cluster' ? await RedisCluster.start({ masters: 3 }) : null;
  const redisPids = [redis?.pid, ...(cluster?.nodes.map((node) => node.pid) ?? [])].filter((pid): pid is number => pid !== undefined);
  for (const pid of redisPids) prepare(pid);
  const postgres = shared ? await PostgresServer.start() : null;
  // Its backends are forked from the postmaster, so pinning what runs now pins them all.
  if (postgres) for (const pid of postgresPids()) pin(pid, GENERATOR_CORE);
  const databaseUrl = postgres ? await postgres.createDatabase() : `sqlite:${path.join(dataDir, 'chat.db')}`;
  const env: Record<string, string> = {
    RATE_LIMIT: options.rateLimit ?? 'off',
    MAX_CONNECTIONS_PER_IP: '1000000',
    LOG_LEVEL: 'info',
    DATABASE_URL: databaseUrl,
    SESSION_SECRET: 'bench-session-secret-0123456789abcdef',
    ALLOWED_ORIGINS: BENCH_ORIGIN,
    ...(redis ? { REDIS_URL: redis.url } : {}),
    ...(cluster ? { REDIS_CLUSTER: cluster.seeds.join(',') } : {}),
  };
  const disposeShared = async (): Promise<void> => {
    await redis?.dispose();
    await cluster?.dispose();
    await postgres?.dispose();
  };
  const apps: AppServer[] = [];
  try {
    for (let index = 0; index < processes; index++) apps.push(await AppServer.start({ env, nodeOptions: profileOptions() }));
  } catch (error) {
    await Promise.all(apps.map((app) => app.dispose()));
    await disposeShared();
    throw error;
  }
  const pids = [...apps.map((app) => prepare(app.pid)), ...redisPids];
  return {
    name: shared ? `app ×${processes} + ${cluster ? 'cluster' : 'redis'}` : 'app',
    targets: apps.map((app) => ({ host: '127.0.0.1', port: app.port })),
    origin: BENCH_ORIGIN,
    pids,
    mainPid: pids[0]!,
    readyOn: 'presence',
    async stop() {
      await Promise.all(apps.map((app) => app.dispose()));
      await disposeShared();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * `npm run bench -- --cpu-prof <folder>`: each server process writes a V8 CPU profile there when
 * it stops (read them with `bench/profile-summary.ts`).
 */
function profileOptions(): string[] {
  const folder = process.env.BENCH_CPU_PROF_DIR;
  return folder ? ['--cpu-prof', `--cpu-prof-dir=${folder}`] : [];
}

/** The processes of the `postgres` user (the throwaway server runs as it when the bench runs as root). */
function postgresPids(): number[] {
  try {
    return execFileSync('pgrep', ['-u', 'postgres'], { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function waitForLine(child: ChildProcess, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes(text)) resolve();
    });
    child.once('exit', (code) => reject(new Error(`exited with ${code} before it listened:\n${output}`)));
  });
}

/**
 * Throwaway Redis and PostgreSQL servers for tests: the real engines from Debian's packages, each
 * on a free port with its files in a temporary folder, stopped and removed afterwards. They can
 * be stopped and started again on the same port and data, to test outages. The fault tests run them
 * inside a network namespace instead, on an address of their private network (`Placement`).
 */
import { type ChildProcess, spawn, execFile } from 'node:child_process';
import { once } from 'node:events';
import { appendFile, chown, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const POSTGRES_BIN = '/usr/lib/postgresql/15/bin';

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  if (typeof address !== 'object' || address === null) throw new Error('no free port');
  return address.port;
}

/**
 * Where an engine runs when not on 127.0.0.1 of this machine: inside a network namespace (run
 * through `ip netns exec`, as root), listening on `host`, an address of that namespace.
 */
export interface Placement {
  readonly namespace: string;
  readonly host: string;
  readonly port: number;
}

/** A server process that is started by waiting for a line on its output. */
abstract class Engine {
  readonly port: number;
  /** The address it listens on. */
  readonly host: string;
  protected readonly folder: string;
  readonly #namespace: string | null;
  #process: ChildProcess | null = null;
  #exited: Promise<void> = Promise.resolve();

  protected constructor(port: number, folder: string, placement?: Placement) {
    this.port = placement?.port ?? port;
    this.host = placement?.host ?? '127.0.0.1';
    this.folder = folder;
    this.#namespace = placement?.namespace ?? null;
  }

  /** A command as it runs where this engine is placed: inside its namespace, if it has one. */
  protected placed([file, args]: [string, string[]]): [string, string[]] {
    return this.#namespace === null ? [file, args] : ['ip', ['netns', 'exec', this.#namespace, file, ...args]];
  }

  /** The server's process id while it runs (to measure or pin it). */
  get pid(): number | undefined {
    return this.#process?.pid;
  }

  protected abstract command(): { file: string; args: string[] };
  protected abstract readonly readyLine: string;
  protected abstract readonly name: string;

  /** Starts (again) and resolves once it accepts connections. */
  async start(): Promise<void> {
    if (this.#process) return;
    const command = this.command();
    const [file, args] = this.placed([command.file, command.args]);
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#process = child;
    this.#exited = new Promise((resolve) => {
      child.once('exit', () => {
        if (this.#process === child) this.#process = null;
        resolve();
      });
    });
    let output = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.name} did not start:\n${output}`)), 30_000);
      const check = (chunk: Buffer): void => {
        output += chunk.toString();
        if (output.includes(this.readyLine)) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout.on('data', check);
      child.stderr.on('data', check);
      void this.#exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`${this.name} exited before it was ready:\n${output}`));
      });
    });
  }

  /** Stops the server (its data stays, for `start`). */
  async stop(): Promise<void> {
    if (this.#process) await this.signal(this.#process);
    await this.#exited;
  }

  /** Asks the server to stop. */
  protected async signal(child: ChildProcess): Promise<void> {
    child.kill('SIGTERM');
  }

  /** Stops the server and removes its folder. */
  async dispose(): Promise<void> {
    await this.stop();
    await rm(this.folder, { recursive: true, force: true });
  }
}

export class RedisServer extends Engine {
  protected readonly readyLine = 'Ready to accept connections';
  protected readonly name = 'redis-server';

  static async start(placement?: Placement): Promise<RedisServer> {
    const server = new RedisServer(placement ? 0 : await freePort(), await mkdtemp(path.join(tmpdir(), 'redis-test-')), placement);
    await server.start();
    return server;
  }

  get url(): string {
    return `redis://${this.host}:${this.port}`;
  }

  protected command(): { file: string; args: string[] } {
    return {
      file: 'redis-server',
      args: ['--port', String(this.port), '--bind', this.host, '--dir', this.folder, '--save', '', '--appendonly', 'no', '--protected-mode', 'no'],
    };
  }
}

export class PostgresServer extends Engine {
  protected readonly readyLine = 'database system is ready to accept connections';
  protected readonly name = 'postgres';
  /**
   * Fast shutdown (SIGINT: disconnect clients rather than wait for them), sent to the postmaster
   * itself: `runuser` in front of it does not pass SIGINT on.
   */
  protected override async signal(child: ChildProcess): Promise<void> {
    const pid = Number((await readFile(path.join(this.#dataDir, 'postmaster.pid'), 'utf8').catch(() => '')).split('\n')[0]);
    if (pid > 0) process.kill(pid, 'SIGINT');
    else child.kill('SIGTERM');
  }
  #databases = 0;

  /** PostgreSQL refuses to run as root: as root, its files and process belong to `postgres`. */
  static async start(placement?: Placement): Promise<PostgresServer> {
    const folder = await mkdtemp(path.join(tmpdir(), 'postgres-test-'));
    const server = new PostgresServer(placement ? 0 : await freePort(), folder, placement);
    if (isRoot()) await chown(folder, ...(await postgresIds()));
    await run(...asPostgres(path.join(POSTGRES_BIN, 'initdb'), ['-D', server.#dataDir, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8', '--locale', 'C']));
    // Clients on a private test network come from its addresses, not from 127.0.0.1.
    if (placement) await appendFile(path.join(server.#dataDir, 'pg_hba.conf'), 'host all all 0.0.0.0/0 trust\n');
    await server.start();
    return server;
  }

  get #dataDir(): string {
    return path.join(this.folder, 'data');
  }

  /** The URL of the `postgres` database, for administration. */
  get adminUrl(): string {
    return `postgres://postgres@${this.host}:${this.port}/postgres`;
  }

  /** Creates an empty database and returns its URL: one per test, so tests never share rows. */
  async createDatabase(): Promise<string> {
    const name = `test_${process.pid}_${++this.#databases}`;
    await run(...this.placed(asPostgres(path.join(POSTGRES_BIN, 'psql'), ['-h', this.host, '-p', String(this.port), '-U', 'postgres', '-q', '-c', `CREATE DATABASE ${name}`])));
    return `postgres://postgres@${this.host}:${this.port}/${name}`;
  }

  protected command(): { file: string; args: string[] } {
    const [file, args] = asPostgres(path.join(POSTGRES_BIN, 'postgres'), [
      '-D', this.#dataDir,
      '-p', String(this.port),
      '-k', this.folder,
      '-c', `listen_addresses=${this.host}`,
      // Throwaway data: no need to survive a power cut, so do not wait for the disk.
      '-c', 'fsync=off',
      '-c', 'synchronous_commit=off',
      '-c', 'full_page_writes=off',
    ]);
    return { file, args };
  }
}

function isRoot(): boolean {
  return process.getuid?.() === 0;
}

function asPostgres(file: string, args: string[]): [string, string[]] {
  return isRoot() ? ['runuser', ['-u', 'postgres', '--', file, ...args]] : [file, args];
}

async function postgresIds(): Promise<[number, number]> {
  const { stdout } = await run('id', ['postgres']);
  const uid = /uid=(\d+)/.exec(stdout)?.[1];
  const gid = /gid=(\d+)/.exec(stdout)?.[1];
  if (!uid || !gid) throw new Error(`cannot read the ids of the postgres user: ${stdout}`);
  return [Number(uid), Number(gid)];
}

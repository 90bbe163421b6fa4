/**
 * Throwaway Redis (single or a cluster) and PostgreSQL servers for tests: the real engines from Debian's packages, each
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
import Redis from 'ioredis';

const run = promisify(execFile);
const POSTGRES_BIN = '/usr/lib/postgresql/15/bin';

export async function freePort(): Promise<number> {
  for (;;) {
    const server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const address = server.address();
    server.close();
    if (typeof address !== 'object' || address === null) throw new Error('no free port');
    // Free now, but not taken until its server starts: a port handed out before may come back
    // from the system meanwhile (six cluster nodes asking for two ports each, at once, were
    // once given the same one).
    if (handedOut.has(address.port)) continue;
    handedOut.add(address.port);
    return address.port;
  }
}

/** The ports `freePort` has answered in this process: never answered twice. */
const handedOut = new Set<number>();

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

  /** Kills the server at once (SIGKILL), as a crash of its machine would: no goodbye to anyone. */
  async kill(): Promise<void> {
    this.#process?.kill('SIGKILL');
    await this.#exited;
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

/** A node of a {@link RedisCluster}: redis-server in cluster mode, its cluster bus on a port of its own. */
export class RedisClusterNode extends Engine {
  protected readonly readyLine = 'Ready to accept connections';
  protected readonly name = 'redis-server (cluster node)';
  readonly busPort: number;
  readonly #nodeTimeoutMs: number;
  readonly #password: string | null;

  private constructor(port: number, busPort: number, folder: string, nodeTimeoutMs: number, password: string | null) {
    super(port, folder);
    this.busPort = busPort;
    this.#nodeTimeoutMs = nodeTimeoutMs;
    this.#password = password;
  }

  static async start(nodeTimeoutMs: number, password: string | null = null): Promise<RedisClusterNode> {
    for (let attempt = 1; ; attempt++) {
      const node = new RedisClusterNode(await freePort(), await freePort(), await mkdtemp(path.join(tmpdir(), 'redis-cluster-test-')), nodeTimeoutMs, password);
      try {
        await node.start();
        return node;
      } catch (error) {
        await node.dispose();
        // A free port can be taken by another process before the node binds it: take others.
        if (attempt < 3 && String(error).includes('Address already in use')) continue;
        throw error;
      }
    }
  }

  /** `host:port`, as a cluster seed. */
  get address(): string {
    return `${this.host}:${this.port}`;
  }

  protected command(): { file: string; args: string[] } {
    return {
      file: 'redis-server',
      args: [
        '--port', String(this.port),
        '--bind', this.host,
        '--dir', this.folder,
        '--save', '',
        '--appendonly', 'no',
        '--protected-mode', 'no',
        '--cluster-enabled', 'yes',
        '--cluster-config-file', 'nodes.conf',
        '--cluster-port', String(this.busPort),
        '--cluster-node-timeout', String(this.#nodeTimeoutMs),
        // A replica takes over however long it was cut from its primary: tests kill primaries.
        '--cluster-replica-validity-factor', '0',
        ...(this.#password === null ? [] : ['--requirepass', this.#password, '--masterauth', this.#password]),
      ],
    };
  }
}

/** How big a throwaway cluster is, and how quickly it notices a dead node. */
export interface RedisClusterOptions {
  /** Primaries, each serving a third (for 3) of the slots (default 3). */
  readonly masters?: number;
  /** Replicas per primary (default 0; 1 when a test kills a primary and wants a failover). */
  readonly replicas?: number;
  /** `cluster-node-timeout`: a primary silent this long is failed over (default 1,000 ms). */
  readonly nodeTimeoutMs?: number;
  /** Every node asks for this password (`requirepass`, and `masterauth` between nodes); default none. */
  readonly password?: string;
}

/**
 * A throwaway Redis Cluster: redis-server nodes on free ports, each in a temporary folder, formed
 * with `redis-cli --cluster create`, ready once every node says `cluster_state:ok` (and each
 * replica is in sync with its primary). `dispose` stops and removes every node, and so does a
 * failed `start`.
 */
export class RedisCluster {
  readonly nodes: readonly RedisClusterNode[];
  /** The password every node asks for, or null. */
  readonly password: string | null;

  private constructor(nodes: readonly RedisClusterNode[], password: string | null) {
    this.nodes = nodes;
    this.password = password;
  }

  static async start(options: RedisClusterOptions = {}): Promise<RedisCluster> {
    const masters = options.masters ?? 3;
    const replicas = options.replicas ?? 0;
    const nodeTimeoutMs = options.nodeTimeoutMs ?? 1_000;
    const password = options.password ?? null;
    const started = await Promise.allSettled(Array.from({ length: masters * (1 + replicas) }, () => RedisClusterNode.start(nodeTimeoutMs, password)));
    const nodes = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
    const cluster = new RedisCluster(nodes, password);
    try {
      const failed = started.find((result) => result.status === 'rejected');
      if (failed) throw failed.reason;
      const auth = password === null ? [] : ['-a', password, '--no-auth-warning'];
      await run('redis-cli', [...auth, '--cluster', 'create', ...nodes.map((node) => node.address), '--cluster-replicas', String(replicas), '--cluster-yes']);
      await cluster.untilHealthy();
    } catch (error) {
      await cluster.dispose();
      throw error;
    }
    return cluster;
  }

  /** Every node's `host:port`, or `redis://:password@host:port` when the nodes ask for one: the seeds a client is given. */
  get seeds(): string[] {
    const password = this.password;
    return this.nodes.map((node) => (password === null ? node.address : `redis://:${encodeURIComponent(password)}@${node.address}`));
  }

  /** Runs a command on one node (a fresh connection, closed after). */
  async command(node: RedisClusterNode, ...args: [string, ...(string | number)[]]): Promise<unknown> {
    const client = new Redis({ host: node.host, port: node.port, lazyConnect: true, maxRetriesPerRequest: 0, ...(this.password === null ? {} : { password: this.password }) });
    try {
      await client.connect();
      return await client.call(...args);
    } finally {
      client.disconnect();
    }
  }

  /** The nodes serving slots now (those still running). */
  async primaries(): Promise<RedisClusterNode[]> {
    const running = this.nodes.filter((node) => node.pid !== undefined);
    const roles = await Promise.all(running.map(async (node) => ((await this.command(node, 'ROLE')) as [string])[0]));
    return running.filter((_, index) => roles[index] === 'master');
  }

  /** The primary that serves `key`'s slot (a key or a shard channel), as a running primary sees it. */
  async primaryOf(key: string): Promise<RedisClusterNode> {
    const [asked] = await this.primaries();
    if (!asked) throw new Error('no primary is running');
    const slot = (await this.command(asked, 'CLUSTER', 'KEYSLOT', key)) as number;
    const ranges = (await this.command(asked, 'CLUSTER', 'SLOTS')) as Array<[number, number, [string, number, string]]>;
    const port = ranges.find(([from, to]) => slot >= from && slot <= to)?.[2][1];
    const node = this.nodes.find((candidate) => candidate.port === port);
    if (!node) throw new Error(`no node serves ${key} (slot ${slot})`);
    return node;
  }

  /**
   * Resolves once every running node says `cluster_state:ok`, agrees on which nodes serve slots,
   * and (with replicas) every primary has an in-sync replica. Polls (the cluster announces none
   * of it), every 50 ms, for at most `timeoutMs`.
   */
  async untilHealthy(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    for (;;) {
      last = await this.#unhealthy().catch((error: unknown) => String(error));
      if (last === '') return;
      if (Date.now() > deadline) throw new Error(`the Redis Cluster is not healthy after ${timeoutMs} ms: ${last}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Why the cluster is not healthy yet, or `''`. */
  async #unhealthy(): Promise<string> {
    const running = this.nodes.filter((node) => node.pid !== undefined);
    for (const node of running) {
      const info = (await this.command(node, 'CLUSTER', 'INFO')) as string;
      if (!info.includes('cluster_state:ok')) return `${node.address}: ${/cluster_state:\w+/.exec(info)?.[0]}`;
      const known = Number(/cluster_known_nodes:(\d+)/.exec(info)?.[1]);
      if (known < running.length) return `${node.address} knows ${known} of ${running.length} nodes`;
    }
    const replicated = this.nodes.length > (await this.primaries()).length;
    if (!replicated) return '';
    for (const node of running) {
      const replication = (await this.command(node, 'INFO', 'replication')) as string;
      if (replication.includes('role:slave') && !replication.includes('master_link_status:up')) return `${node.address}: replica not in sync`;
    }
    return '';
  }

  /** Stops every node and removes its folder. */
  async dispose(): Promise<void> {
    await Promise.allSettled(this.nodes.map((node) => node.dispose()));
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

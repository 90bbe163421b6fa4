import type { ConnectionOptions } from 'node:tls';
import Redis, { Cluster, type ChainableCommander } from 'ioredis';
import { redisConnectionOptions, type RedisTimeouts } from './supervisor';

/**
 * Where Redis is: one server (`url`), or a Redis Cluster (`cluster`, some of its nodes). Give
 * exactly one. On a cluster every multi-key operation stays in one hash slot, and group messages
 * go over sharded pub/sub (`SPUBLISH`/`SSUBSCRIBE`), so each group's traffic stays on its shard.
 */
export interface RedisTarget {
  /** `redis://[user:password@]host:port[/db]` of a single Redis. */
  readonly url?: string;
  /**
   * One or more nodes of a Redis Cluster (the others are found from them), each `host:port`, or
   * `redis://[user:password@]host:port` for a cluster that asks for a password, or `rediss://...`
   * for one reached over TLS; every node the same way (the cluster's other nodes are reached with
   * the same credentials and TLS).
   */
  readonly cluster?: readonly string[];
}

/** The client that runs commands: one connection to one Redis, or ioredis's `Cluster`. */
export type Commands = Redis | Cluster;

/** A `host:port` node of a cluster, as ioredis takes it. */
type NodeAddress = { readonly host: string; readonly port: number };

/** How every node of a cluster is reached: its credentials, and TLS or not. */
interface NodeAccess {
  readonly username?: string;
  readonly password?: string;
  readonly tls?: ConnectionOptions;
}

/** One line naming the target, with any password left out (for errors and logs). */
export function describeTarget(target: RedisTarget): string {
  if (target.cluster !== undefined) return `the Redis Cluster at ${target.cluster.map(withoutPassword).join(',')}`;
  return `Redis at ${withoutPassword(target.url ?? '')}`;
}

/**
 * Each cluster client's last word from its nodes when it reached none of them: ioredis emits it
 * in an 'error' event (where a missing or wrong password is named) and rejects `connect` with a
 * bare "None of startup nodes is available".
 */
const lastNodeErrors = new WeakMap<Cluster, Error>();

/** What went wrong connecting `commands`: the error's message, and on a cluster, what its last node said. */
export function failureOf(error: unknown, commands: Commands): string {
  const message = error instanceof Error ? error.message : String(error);
  const last = isCluster(commands) ? lastNodeErrors.get(commands) : undefined;
  return last === undefined ? message : `${message} (the last node said: ${last.message})`;
}

function withoutPassword(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}

/**
 * Checks a target before anything connects: exactly one of `url` and `cluster`, and a cluster's
 * nodes each `host:port`, `redis://[user:password@]host:port` or `rediss://...`, all alike.
 * Throws an `Error` saying what is wrong (with any password left out).
 *
 * @example
 * ```ts
 * import { assertRedisTarget } from 'next-channels/redis';
 *
 * assertRedisTarget({ cluster: ['redis://:secret@10.0.0.11:6379', 'redis://:secret@10.0.0.12:6379'] });
 * ```
 */
export function assertRedisTarget(target: RedisTarget): void {
  const given = Number(target.url !== undefined) + Number(target.cluster !== undefined);
  if (given !== 1) throw new Error('give Redis either a url or cluster nodes, not both or neither');
  if (target.cluster !== undefined && target.cluster.length === 0) throw new Error('a Redis Cluster needs at least one node');
  if (target.cluster !== undefined) clusterNodes(target.cluster);
}

/** Parses `host:port` (or `[v6]:port`). */
export function nodeAddress(node: string): NodeAddress {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(node.trim());
  const port = Number(match?.[3]);
  if (!match || port < 1 || port > 65_535) throw new Error(`a cluster node must be host:port, redis://[user:password@]host:port or rediss://..., got ${JSON.stringify(withoutPassword(node))}`);
  return { host: match[1] ?? match[2]!, port };
}

/**
 * A cluster's seed nodes and how every node is reached: `host:port`, `redis://[user:password@]
 * host:port` or `rediss://...` (TLS), all alike.
 */
export function clusterNodes(nodes: readonly string[]): { readonly addresses: NodeAddress[]; readonly access: NodeAccess } {
  const parsed = nodes.map((node) => {
    const url = /^rediss?:\/\//i.test(node.trim()) ? new URL(node.trim()) : null;
    if (url === null) return { address: nodeAddress(node), access: {}, key: 'redis:' };
    if (url.pathname !== '' && url.pathname !== '/') throw new Error(`a cluster node has no database number, got ${JSON.stringify(withoutPassword(node))}`);
    const username = decodeURIComponent(url.username);
    const password = decodeURIComponent(url.password);
    const tls = url.protocol.toLowerCase() === 'rediss:';
    const access: NodeAccess = { ...(username ? { username } : {}), ...(password ? { password } : {}), ...(tls ? { tls: {} } : {}) };
    return { address: nodeAddress(`${url.hostname}:${url.port || '6379'}`), access, key: `${tls ? 'rediss:' : 'redis:'}${username}:${password}` };
  });
  if (new Set(parsed.map((node) => node.key)).size > 1) throw new Error('every node of a Redis Cluster must be given with the same credentials and scheme (redis:// or rediss://)');
  return { addresses: parsed.map((node) => node.address), access: parsed[0]?.access ?? {} };
}

/**
 * A client for commands (lazily connected, failing fast rather than queueing: see
 * `redisConnectionOptions`). On a cluster, the slot map is read again every `slotsRefreshMs`
 * (a second) as well as after a MOVED or a lost node, so a failover is followed within about a
 * second of its end.
 */
export function openCommands(target: RedisTarget, timeouts: RedisTimeouts, name: string, slotsRefreshMs = 1_000): Commands {
  assertRedisTarget(target);
  const options = redisConnectionOptions(timeouts, name);
  if (target.cluster === undefined) return new Redis(target.url!, options);
  const { addresses, access } = clusterNodes(target.cluster);
  const cluster = new Cluster(addresses, {
    lazyConnect: true,
    enableOfflineQueue: false,
    // Not ioredis's `slotsRefreshInterval`: a refresh of its timer still in flight when the client
    // disconnects arms the timer again, for good, and a process that closed its layer never exits.
    slotsRefreshInterval: 0,
    slotsRefreshTimeout: timeouts.commandTimeoutMs ?? 2_000,
    clusterRetryStrategy: options.retryStrategy,
    // Each node's connection is ioredis's to manage (it follows the slot map, not a retry timer).
    redisOptions: { ...(({ retryStrategy: _retry, enableOfflineQueue: _queue, ...node }) => node)(options), ...access },
  });
  cluster.on('error', (error: Error & { readonly lastNodeError?: unknown }) => {
    if (error.lastNodeError instanceof Error) lastNodeErrors.set(cluster, error.lastNodeError);
  });
  const refresh = setInterval(() => {
    if (cluster.status === 'ready') cluster.refreshSlotsCache();
  }, slotsRefreshMs).unref();
  cluster.once('end', () => clearInterval(refresh));
  return cluster;
}

/**
 * A connection to one node of `cluster` (a shard's subscriber), with the same fail-fast options,
 * and the credentials and TLS the cluster's nodes are reached with.
 */
export function openNode(cluster: Cluster, nodeKey: string, timeouts: RedisTimeouts, name: string): Redis {
  const { username, password, tls } = cluster.options.redisOptions ?? {};
  const access: NodeAccess = { ...(username ? { username } : {}), ...(password ? { password } : {}), ...(tls ? { tls } : {}) };
  return new Redis({ ...nodeAddress(nodeKey), ...redisConnectionOptions(timeouts, name), ...access, autoResubscribe: false });
}

/** Whether the client is a cluster's. */
export function isCluster(commands: Commands): commands is Cluster {
  return commands instanceof Cluster;
}

/**
 * Groups `items` by the hash slot of their key on a cluster, for commands that must stay in one
 * slot (a MULTI); on a single Redis everything is one group.
 */
export function bySlot<T>(commands: Commands, items: Iterable<T>, keyOf: (item: T) => string): T[][] {
  if (!isCluster(commands)) return [[...items]];
  const groups = new Map<number, T[]>();
  for (const item of items) {
    const slot = keySlot(keyOf(item));
    const group = groups.get(slot);
    if (group) group.push(item);
    else groups.set(slot, [item]);
  }
  return [...groups.values()];
}

/**
 * Groups `items` by the node that serves their key's slot now (one pipeline per node on a
 * cluster; one for everything on a single Redis). A stale slot map costs a MOVED, which ioredis
 * follows.
 */
export function byNode<T>(commands: Commands, items: Iterable<T>, keyOf: (item: T) => string): T[][] {
  if (!isCluster(commands)) return [[...items]];
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const node = commands.slots[keySlot(keyOf(item))]?.join(';') ?? '';
    const group = groups.get(node);
    if (group) group.push(item);
    else groups.set(node, [item]);
  }
  return [...groups.values()];
}

/** Queues a publish on `channel` in `pipeline`: `SPUBLISH` (the channel's shard) on a cluster, `PUBLISH` else. */
export function queuePublish(commands: Commands, pipeline: ChainableCommander, channel: string, payload: string): void {
  if (isCluster(commands)) pipeline.spublish(channel, payload);
  else pipeline.publish(channel, payload);
}

/** Runs a pipeline (or MULTI) and rejects with the first command's error, if any failed. */
export async function execAll(pipeline: ChainableCommander): Promise<void> {
  const results = await pipeline.exec();
  if (results === null) throw new Error('the transaction was aborted');
  const failed = results.find(([error]) => error !== null);
  if (failed) throw failed[0];
}

/** Subscribes, waiting at most `waitMs` for the answer; a failure is made good on reconnect. */
export async function subscribeWithin(subscribing: Promise<unknown>, waitMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const settled = subscribing.then(
    () => undefined,
    () => undefined,
  );
  await Promise.race([settled, new Promise<void>((resolve) => (timer = setTimeout(resolve, waitMs)))]).finally(() => clearTimeout(timer));
}

/** Resolves once `connection` is ready (connecting it if nobody has yet); rejects if it ends first. */
export async function untilReady(connection: Redis): Promise<void> {
  if (connection.status === 'wait') return void (await connection.connect());
  if (connection.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const ready = (): void => {
      connection.off('end', ended);
      resolve();
    };
    const ended = (): void => {
      connection.off('ready', ready);
      reject(new Error('the connection ended before it was ready'));
    };
    connection.once('ready', ready);
    connection.once('end', ended);
  });
}

const CRC16_TABLE = (() => {
  const table = new Uint16Array(256);
  for (let byte = 0; byte < 256; byte++) {
    let crc = byte << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    table[byte] = crc;
  }
  return table;
})();

/**
 * The cluster hash slot of a key or shard channel: CRC16 (XMODEM) of its hash tag (the text
 * between the first `{` and the next `}`, when not empty) or of the whole name, modulo 16384.
 */
export function keySlot(key: string): number {
  const open = key.indexOf('{');
  if (open !== -1) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) key = key.slice(open + 1, close);
  }
  let crc = 0;
  for (const byte of Buffer.from(key, 'utf8')) crc = ((crc << 8) & 0xffff) ^ CRC16_TABLE[((crc >> 8) ^ byte) & 0xff]!;
  return crc & 0x3fff;
}

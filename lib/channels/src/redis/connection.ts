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
  /** `host:port` of one or more nodes of a Redis Cluster; the others are found from them. */
  readonly cluster?: readonly string[];
}

/** The client that runs commands: one connection to one Redis, or ioredis's `Cluster`. */
export type Commands = Redis | Cluster;

/** A `host:port` node of a cluster, as ioredis takes it. */
type NodeAddress = { readonly host: string; readonly port: number };

/** One line naming the target, with any password left out (for errors and logs). */
export function describeTarget(target: RedisTarget): string {
  if (target.cluster !== undefined) return `the Redis Cluster at ${target.cluster.join(',')}`;
  return `Redis at ${(target.url ?? '').replace(/\/\/[^@/]*@/, '//***@')}`;
}

/** Checks that a target names exactly one of `url` and `cluster`. */
export function assertTarget(target: RedisTarget): void {
  const given = Number(target.url !== undefined) + Number(target.cluster !== undefined);
  if (given !== 1) throw new Error('give Redis either a url or cluster nodes, not both or neither');
  if (target.cluster !== undefined && target.cluster.length === 0) throw new Error('a Redis Cluster needs at least one node');
}

/** Parses `host:port` (or `[v6]:port`). */
export function nodeAddress(node: string): NodeAddress {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(node.trim());
  const port = Number(match?.[3]);
  if (!match || port < 1 || port > 65_535) throw new Error(`a cluster node must be host:port, got ${JSON.stringify(node)}`);
  return { host: match[1] ?? match[2]!, port };
}

/**
 * A client for commands (lazily connected, failing fast rather than queueing: see
 * `redisConnectionOptions`). On a cluster, the slot map is read again every second as well as
 * after a MOVED or a lost node, so a failover is followed within about a second of its end.
 */
export function openCommands(target: RedisTarget, timeouts: RedisTimeouts, name: string): Commands {
  assertTarget(target);
  const options = redisConnectionOptions(timeouts, name);
  if (target.cluster === undefined) return new Redis(target.url!, options);
  return new Cluster(target.cluster.map(nodeAddress), {
    lazyConnect: true,
    enableOfflineQueue: false,
    slotsRefreshInterval: 1_000,
    slotsRefreshTimeout: timeouts.commandTimeoutMs ?? 2_000,
    clusterRetryStrategy: options.retryStrategy,
    // Each node's connection is ioredis's to manage (it follows the slot map, not a retry timer).
    redisOptions: (({ retryStrategy: _retry, enableOfflineQueue: _queue, ...node }) => node)(options),
  });
}

/** A connection to one node of a cluster (a shard's subscriber), with the same fail-fast options. */
export function openNode(nodeKey: string, timeouts: RedisTimeouts, name: string): Redis {
  return new Redis({ ...nodeAddress(nodeKey), ...redisConnectionOptions(timeouts, name), autoResubscribe: false });
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

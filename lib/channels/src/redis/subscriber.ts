import Redis, { type Cluster } from 'ioredis';
import { type Commands, isCluster, keySlot, openNode, type RedisTarget } from './connection';
import { redisConnectionOptions, RedisSupervisor, type RedisTimeouts } from './supervisor';

/** What a subscriber tells its owner. */
export interface SubscriberEvents {
  message(channel: string, payload: string): void;
  /** A subscribing connection dropped: what was published meanwhile is missed. Once per outage. */
  lost(reason: unknown): void;
  /** Every subscription is made again after a loss: time to catch up. */
  whole(): void;
}

/**
 * The subscribing side of a layer or presence, the same for one Redis and for a cluster. It keeps
 * the set of channels subscribed, makes them again after a connection comes back, and reports the
 * outage (`lost`) and the moment every subscription is back (`whole`), so the owner catches up
 * then. On one Redis: one connection, `SUBSCRIBE`. On a cluster: one connection per shard that
 * has subscribed channels, `SSUBSCRIBE` there (see `ShardSubscriber`).
 */
export interface Subscriber {
  /** Whether every connection is up with its subscriptions made. */
  readonly ready: boolean;
  /** Connects and subscribes to what was asked so far; rejects when Redis cannot be reached. */
  connect(): Promise<void>;
  /**
   * Adds `channel`, waiting at most `waitMs` for Redis to confirm. While its connection is away
   * the subscription is made when it is back (then `whole`).
   */
  subscribe(channel: string, waitMs: number): Promise<void>;
  unsubscribe(channel: string): void;
  close(): void;
}

/**
 * A subscriber for `target`. `broadcast` channels are plain pub/sub on a cluster too (a rare
 * message every node's subscribers get); on a cluster they are subscribed on the shard of `home`.
 */
export function openSubscriber(
  target: RedisTarget,
  commands: Commands,
  timeouts: RedisTimeouts,
  name: string,
  channels: { readonly home?: string; readonly broadcast?: readonly string[] },
  events: SubscriberEvents,
): Subscriber {
  if (isCluster(commands)) return new ShardSubscriber(commands, timeouts, name, channels, events);
  return new SingleSubscriber(target.url!, timeouts, name, [...(channels.home === undefined ? [] : [channels.home]), ...(channels.broadcast ?? [])], events);
}

/** Subscribes, waiting at most `waitMs` for the answer; a failure is made good on reconnect. */
async function subscribeWithin(subscribing: Promise<unknown>, waitMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const settled = subscribing.then(
    () => undefined,
    () => undefined,
  );
  await Promise.race([settled, new Promise<void>((resolve) => (timer = setTimeout(resolve, waitMs)))]).finally(() => clearTimeout(timer));
}

/** Resolves once `connection` is ready (connecting it if nobody has yet); rejects if it ends first. */
async function untilReady(connection: Redis): Promise<void> {
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

/** One connection to one Redis, `SUBSCRIBE`. */
class SingleSubscriber implements Subscriber {
  readonly #connection: Redis;
  readonly #supervisor: RedisSupervisor;
  readonly #channels: Set<string>;
  readonly #events: SubscriberEvents;
  #wasLost = false;
  #resubscribing = false;
  #closed = false;

  constructor(url: string, timeouts: RedisTimeouts, name: string, initial: readonly string[], events: SubscriberEvents) {
    this.#events = events;
    this.#channels = new Set(initial);
    this.#connection = new Redis(url, { ...redisConnectionOptions(timeouts, name), autoResubscribe: false });
    this.#connection.on('message', (channel: string, payload: string) => events.message(channel, payload));
    this.#supervisor = new RedisSupervisor({ subscriber: this.#connection }, timeouts, {
      lost: (_role, reason) => {
        if (this.#closed || this.#wasLost) return;
        this.#wasLost = true;
        events.lost(reason);
      },
      ready: () => this.#back(),
    });
  }

  get ready(): boolean {
    return this.#connection.status === 'ready' && !this.#wasLost && !this.#resubscribing;
  }

  async connect(): Promise<void> {
    await this.#connection.connect();
    if (this.#channels.size > 0) await this.#connection.subscribe(...this.#channels);
  }

  async subscribe(channel: string, waitMs: number): Promise<void> {
    this.#channels.add(channel);
    if (this.#connection.status !== 'ready') return;
    await subscribeWithin(this.#connection.subscribe(channel), waitMs);
  }

  unsubscribe(channel: string): void {
    this.#channels.delete(channel);
    if (this.#connection.status !== 'ready') return;
    this.#connection.unsubscribe(channel).catch(() => {
      // A stale subscription only costs a message that finds no member.
    });
  }

  close(): void {
    this.#closed = true;
    this.#supervisor.close();
    this.#connection.disconnect();
  }

  #back(): void {
    if (!this.#wasLost || this.#closed) return;
    this.#resubscribing = true;
    const channels = [...this.#channels];
    (channels.length > 0 ? this.#connection.subscribe(...channels) : Promise.resolve()).then(
      () => {
        this.#resubscribing = false;
        this.#wasLost = false;
        if (!this.#closed) this.#events.whole();
      },
      () => {
        // Dropped again meanwhile: the next 'ready' tries again.
        this.#resubscribing = false;
      },
    );
  }
}

/** A connection to one cluster node, for the shard channels whose slots it serves. */
interface Shard {
  readonly node: string;
  readonly connection: Redis;
  readonly supervisor: RedisSupervisor;
  readonly channels: Set<string>;
  /** Its subscriptions are not (all) made: it was lost, is new, or is making them. */
  pending: boolean;
  /** The subscriptions being made now. */
  subscribing: Promise<void> | null;
}

/**
 * Sharded pub/sub on a Redis Cluster, written here rather than ioredis's `shardedSubscribers`
 * (which has no heartbeat, and says it is ready before its subscriptions are made again): one
 * subscribing connection per primary that serves a subscribed channel's slot, each watched by a
 * `RedisSupervisor`. The slot map is the command client's; when a connection is lost, the map is
 * read again every heartbeat until the slot has a primary that answers (a failover), and the
 * channels move there. Moving, like reconnecting, counts as an outage: `whole` follows once every
 * shard has made its subscriptions, and the owner catches up.
 */
class ShardSubscriber implements Subscriber {
  readonly #cluster: Cluster;
  readonly #timeouts: RedisTimeouts;
  readonly #name: string;
  readonly #events: SubscriberEvents;
  readonly #home: string | undefined;
  readonly #broadcast: readonly string[];
  /** Every channel asked for, with the node it is subscribed on (`''`: no node known yet). */
  readonly #channels = new Map<string, string>();
  readonly #shards = new Map<string, Shard>();
  readonly #onRefresh = (): void => this.#route();
  #refreshTimer: NodeJS.Timeout | null = null;
  #wasLost = false;
  #started = false;
  #closed = false;

  constructor(
    cluster: Cluster,
    timeouts: RedisTimeouts,
    name: string,
    channels: { readonly home?: string; readonly broadcast?: readonly string[] },
    events: SubscriberEvents,
  ) {
    this.#cluster = cluster;
    this.#timeouts = timeouts;
    this.#name = name;
    this.#events = events;
    this.#home = channels.home;
    this.#broadcast = channels.broadcast ?? [];
    if (this.#home !== undefined) this.#channels.set(this.#home, '');
    cluster.on('refresh', this.#onRefresh);
  }

  /**
   * Connected, and no shard lost since. A shard new to this process (the first group on it) is
   * not counted while it connects: nothing was missed on it, and a health check must not flap.
   */
  get ready(): boolean {
    return this.#started && !this.#wasLost && !this.#closed;
  }

  async connect(): Promise<void> {
    if (this.#cluster.status !== 'ready') await this.#cluster.connect();
    this.#started = true;
    for (const channel of this.#channels.keys()) this.#place(channel);
    await Promise.all(
      [...this.#shards.values()].map(async (shard) => {
        await untilReady(shard.connection);
        await this.#subscribeShard(shard);
        if (shard.pending) throw new Error(`could not subscribe on ${shard.node}`);
      }),
    );
  }

  async subscribe(channel: string, waitMs: number): Promise<void> {
    if (this.#channels.has(channel)) return;
    this.#channels.set(channel, '');
    const shard = this.#place(channel);
    if (shard === null) return;
    // Not ready (a shard new to this process, or one coming back): its 'ready' subscribes to
    // everything the shard has, this channel included.
    const subscribing = shard.connection.status === 'ready' ? shard.connection.ssubscribe(channel) : untilReady(shard.connection).then(() => this.#subscribeShard(shard));
    await subscribeWithin(subscribing, waitMs);
  }

  unsubscribe(channel: string): void {
    const node = this.#channels.get(channel);
    if (node === undefined || channel === this.#home) return;
    this.#channels.delete(channel);
    const shard = this.#shards.get(node);
    if (!shard) return;
    shard.channels.delete(channel);
    if (shard.channels.size === 0) this.#drop(shard);
    else if (shard.connection.status === 'ready') shard.connection.sunsubscribe(channel).catch(() => {});
  }

  close(): void {
    this.#closed = true;
    this.#cluster.off('refresh', this.#onRefresh);
    this.#stopRefreshing();
    for (const shard of this.#shards.values()) this.#drop(shard);
  }

  /** The primary serving `channel`'s slot now, by the command client's slot map. */
  #nodeOf(channel: string): string | undefined {
    return this.#cluster.slots[keySlot(channel)]?.[0];
  }

  /** Puts `channel` on the shard that serves it (creating that shard's connection); null while no map is known. */
  #place(channel: string): Shard | null {
    const node = this.#nodeOf(channel);
    if (node === undefined) return null;
    this.#channels.set(channel, node);
    const shard = this.#shards.get(node) ?? this.#open(node);
    shard.channels.add(channel);
    return shard;
  }

  #open(node: string): Shard {
    const connection = openNode(node, this.#timeouts, `${this.#name}-${node}`);
    const supervisor = new RedisSupervisor({ [node]: connection }, this.#timeouts, {
      lost: (_role, reason) => this.#shardLost(reason),
      ready: () => void this.#subscribeShard(shard),
    });
    const shard: Shard = { node, connection, supervisor, channels: new Set(), pending: true, subscribing: null };
    connection.on('smessage', (channel: string, payload: string) => this.#events.message(channel, payload));
    connection.on('message', (channel: string, payload: string) => this.#events.message(channel, payload));
    connection.on('close', () => {
      if (this.#shards.get(node) === shard) shard.pending = true;
    });
    this.#shards.set(node, shard);
    return shard;
  }

  #drop(shard: Shard): void {
    if (this.#shards.get(shard.node) === shard) this.#shards.delete(shard.node);
    shard.supervisor.close();
    shard.connection.disconnect();
  }

  /** Makes every subscription of a shard that is (again) ready; the one in flight, if any. */
  #subscribeShard(shard: Shard): Promise<void> {
    if (shard.subscribing) return shard.subscribing;
    if (this.#closed || shard.connection.status !== 'ready' || this.#shards.get(shard.node) !== shard) return Promise.resolve();
    shard.subscribing = this.#makeSubscriptions(shard).finally(() => (shard.subscribing = null));
    return shard.subscribing;
  }

  async #makeSubscriptions(shard: Shard): Promise<void> {
    try {
      const channels = [...shard.channels];
      // Several channels in one SSUBSCRIBE must share a slot: one command per slot.
      const bySlot = new Map<number, string[]>();
      for (const channel of channels) {
        const slot = keySlot(channel);
        bySlot.set(slot, [...(bySlot.get(slot) ?? []), channel]);
      }
      await Promise.all([...bySlot.values()].map((slot) => shard.connection.ssubscribe(...slot)));
      if (this.#home !== undefined && shard.channels.has(this.#home) && this.#broadcast.length > 0) await shard.connection.subscribe(...this.#broadcast);
      shard.pending = false;
    } catch {
      // Dropped again, or the slot moved: its next 'ready', or the next slot map, tries again.
      return;
    }
    this.#maybeWhole();
  }

  #shardLost(reason: unknown): void {
    if (this.#closed) return;
    if (!this.#wasLost) {
      this.#wasLost = true;
      this.#events.lost(reason);
    }
    // A primary that does not come back is replaced by a replica: read the slot map until it is.
    if (this.#refreshTimer === null) {
      this.#refreshTimer = setInterval(() => this.#cluster.refreshSlotsCache(), Math.max(100, this.#timeouts.heartbeatMs ?? 1_000));
      this.#refreshTimer.unref();
    }
    this.#cluster.refreshSlotsCache();
  }

  /** Moves every channel whose slot is now served by another primary, and drops empty shards. */
  #route(): void {
    if (this.#closed) return;
    let moved = false;
    for (const [channel, node] of this.#channels) {
      const now = this.#nodeOf(channel);
      if (now === undefined || now === node) continue;
      const old = this.#shards.get(node);
      old?.channels.delete(channel);
      if (node !== '') moved = true;
      const shard = this.#place(channel);
      if (shard !== null) shard.pending = true;
    }
    for (const shard of this.#shards.values()) {
      if (shard.channels.size === 0) this.#drop(shard);
      else if (shard.connection.status === 'wait' && this.#started) shard.connection.connect().catch(() => {});
      else if (shard.pending) void this.#subscribeShard(shard);
    }
    if (moved && !this.#wasLost) {
      // Messages published on the new primary before we subscribed there are missed.
      this.#wasLost = true;
      this.#events.lost(new Error('shard channels moved to another node'));
    }
    this.#maybeWhole();
  }

  #maybeWhole(): void {
    if (this.#closed || !this.#wasLost) return;
    for (const shard of this.#shards.values()) if (shard.pending || shard.connection.status !== 'ready') return;
    for (const node of this.#channels.values()) if (node === '') return;
    this.#wasLost = false;
    this.#stopRefreshing();
    this.#events.whole();
  }

  #stopRefreshing(): void {
    if (this.#refreshTimer) clearInterval(this.#refreshTimer);
    this.#refreshTimer = null;
  }
}

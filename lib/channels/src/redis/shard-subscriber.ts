import type { Cluster, default as Redis } from 'ioredis';
import { keySlot, openNode, subscribeWithin, untilReady } from './connection';
import type { Subscriber, SubscriberEvents } from './subscriber';
import { RedisSupervisor, type RedisTimeouts } from './supervisor';

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
export class ShardSubscriber implements Subscriber {
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
    const connection = openNode(this.#cluster, node, this.#timeouts, `${this.#name}-${node}`);
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

import Redis from 'ioredis';
import { type Commands, isCluster, type RedisTarget, subscribeWithin } from './connection';
import { ShardSubscriber } from './shard-subscriber';
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

import type { TicketStore } from '../auth';
import { type Commands, describeTarget, failureOf, openCommands, type RedisTarget } from './connection';
import type { RedisTimeouts } from './supervisor';

/** Options of {@link RedisTickets}: where Redis is (one server or a cluster), and the key prefix. */
export interface RedisTicketsOptions extends RedisTimeouts, RedisTarget {
  /** Prefix of every key, as for the channel layer (default `channels`), so several sites can share one Redis. */
  readonly prefix?: string;
}

/**
 * A `TicketStore` every process shares: a ticket issued by one process is redeemed by whichever
 * the page's socket reaches, once (`SET … PX`, then `GETDEL`, which only one redeemer wins).
 * Redis keeps the ticket's hash only (under `<prefix>:ticket:`), and drops it when it expires.
 * Each ticket is one key, so on a cluster tickets spread over the shards by themselves.
 *
 * @example
 * ```ts
 * const tickets = new WebsocketTickets({ store: await RedisTickets.connect({ url: process.env.REDIS_URL! }) });
 * ```
 */
export class RedisTickets implements TicketStore {
  readonly #redis: Commands;
  readonly #prefix: string;

  private constructor(options: RedisTicketsOptions) {
    this.#redis = openCommands(options, options, 'tickets');
    // A lost connection fails the put or take that needed it; ioredis connects again by itself.
    this.#redis.on('error', () => {});
    this.#prefix = `${options.prefix ?? 'channels'}:ticket:`;
  }

  /**
   * Connects to Redis.
   *
   * @throws Error naming Redis when it cannot be reached.
   */
  static async connect(options: RedisTicketsOptions): Promise<RedisTickets> {
    const tickets = new RedisTickets(options);
    try {
      await tickets.#redis.connect();
    } catch (error) {
      tickets.#redis.disconnect();
      throw new Error(`cannot reach ${describeTarget(options)} for tickets: ${failureOf(error, tickets.#redis)}`);
    }
    return tickets;
  }

  async put(key: string, value: string, ttlMs: number): Promise<void> {
    await this.#redis.set(this.#prefix + key, value, 'PX', Math.max(1, Math.ceil(ttlMs)));
  }

  take(key: string): Promise<string | null> {
    return this.#redis.getdel(this.#prefix + key);
  }

  /** Closes the connection. */
  async close(): Promise<void> {
    await this.#redis.quit().catch(() => this.#redis.disconnect());
  }
}

import { Redis } from 'ioredis';
import type { TicketStore } from '../auth';
import { redisConnectionOptions, type RedisTimeouts } from './supervisor';

/** Options of {@link RedisTickets}. */
export interface RedisTicketsOptions extends RedisTimeouts {
  /** `redis://` URL of the server. */
  readonly url: string;
  /** Prefix of every key, as for the channel layer (default `channels`), so several sites can share one Redis. */
  readonly prefix?: string;
}

/**
 * A `TicketStore` every process shares: a ticket issued by one process is redeemed by whichever
 * the page's socket reaches, once (`SET … PX`, then `GETDEL`, which only one redeemer wins).
 * Redis keeps the ticket's hash only, and drops it when it expires.
 *
 * @example
 * ```ts
 * const tickets = new WebsocketTickets({ store: await RedisTickets.connect({ url: process.env.REDIS_URL! }) });
 * ```
 */
export class RedisTickets implements TicketStore {
  readonly #redis: Redis;
  readonly #prefix: string;

  private constructor(options: RedisTicketsOptions) {
    this.#redis = new Redis(options.url, redisConnectionOptions(options, 'tickets'));
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
      throw new Error(`cannot reach Redis for tickets: ${error instanceof Error ? error.message : String(error)}`);
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

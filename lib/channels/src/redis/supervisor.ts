import type { Cluster, default as Redis, RedisOptions } from 'ioredis';

/** How quickly a lost Redis is noticed and sought again; every figure is an option. */
export interface RedisTimeouts {
  /** A connection attempt that takes longer fails (default 2 s). */
  readonly connectTimeoutMs?: number;
  /** A command with no answer this long fails (default 2 s). */
  readonly commandTimeoutMs?: number;
  /**
   * Each connection is pinged this often (default 1 s); one that does not answer within the
   * command timeout is dropped and made again. A silent partition (packets dropped, no reset)
   * is noticed within a few seconds, not TCP's minutes.
   */
  readonly heartbeatMs?: number;
}

/** ioredis options with the timeouts above, for a connection that fails fast rather than queues. */
export function redisConnectionOptions(timeouts: RedisTimeouts, name: string): RedisOptions {
  return {
    lazyConnect: true,
    enableOfflineQueue: false,
    // A command that timed out is given up, never sent again on the next connection: a publish
    // could otherwise arrive twice (the late original and its retry).
    maxRetriesPerRequest: 0,
    connectionName: name,
    connectTimeout: timeouts.connectTimeoutMs ?? 2_000,
    commandTimeout: timeouts.commandTimeoutMs ?? 2_000,
    // TCP keepalive from the first idle second: the kernel's probes help on top of the heartbeat.
    keepAlive: 1_000,
    // Try again soon: a chat wants its Redis back within seconds of a heal.
    retryStrategy: (attempt: number) => Math.min(100 * attempt, 1_000),
  };
}

/** What a supervisor tells its owner. */
export interface RedisSupervisorEvents {
  /** A connection was lost (closed, or its heartbeat went unanswered). */
  lost(role: string, reason: unknown): void;
  /** A connection is ready again (or for the first time, when `wasLost` is false). */
  ready(role: string, wasLost: boolean): void;
}

/**
 * Watches a few ioredis connections (a `Redis`, or a `Cluster` as a whole): reports each one's loss
 * and return once, and pings each one every `heartbeatMs`, dropping one that does not answer so
 * that ioredis connects again.
 */
export class RedisSupervisor {
  readonly #connections: ReadonlyArray<readonly [string, Redis | Cluster]>;
  readonly #events: RedisSupervisorEvents;
  readonly #lost = new Set<string>();
  readonly #pinging = new Set<string>();
  #timer: NodeJS.Timeout | null = null;
  #closed = false;

  constructor(connections: Readonly<Record<string, Redis | Cluster>>, timeouts: RedisTimeouts, events: RedisSupervisorEvents) {
    this.#connections = Object.entries(connections);
    this.#events = events;
    for (const [role, connection] of this.#connections) {
      connection.on('ready', () => {
        const wasLost = this.#lost.delete(role);
        events.ready(role, wasLost);
      });
      connection.on('close', () => this.#markLost(role, 'the connection closed'));
      connection.on('error', () => {
        // Reported once by 'close' or the heartbeat; ioredis keeps retrying by itself.
      });
    }
    const everyMs = timeouts.heartbeatMs ?? 1_000;
    if (everyMs > 0) {
      this.#timer = setInterval(() => this.#heartbeat(), everyMs);
      this.#timer.unref();
    }
  }

  /** Whether every connection is ready now. */
  get allReady(): boolean {
    return this.#connections.every(([, connection]) => connection.status === 'ready');
  }

  /** Stops watching (before the connections are closed on purpose). */
  close(): void {
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  /** A command of `role`'s connection went unanswered: it is lost, dropped and made again. */
  failed(role: string, reason: unknown): void {
    const connection = this.#connections.find(([name]) => name === role)?.[1];
    if (this.#closed || connection === undefined || connection.status !== 'ready') return;
    this.#markLost(role, reason);
    connection.disconnect(true);
  }

  #markLost(role: string, reason: unknown): void {
    if (this.#closed || this.#lost.has(role)) return;
    this.#lost.add(role);
    this.#events.lost(role, reason);
  }

  #heartbeat(): void {
    for (const [role, connection] of this.#connections) {
      if (connection.status !== 'ready' || this.#pinging.has(role)) continue;
      this.#pinging.add(role);
      connection.ping().then(
        () => this.#pinging.delete(role),
        (error: unknown) => {
          this.#pinging.delete(role);
          // A silent partition leaves the socket open and every command unanswered: drop it,
          // and ioredis connects again (and again) until Redis answers.
          this.failed(role, error);
        },
      );
    }
  }
}

import type { Timers } from './platform';

export interface HeartbeatOptions {
  /** After this long without a frame, ask the server for a pong. */
  readonly pingAfterMs: number;
  /** A line that stays silent this long after a ping is dead. */
  readonly pongTimeoutMs: number;
}

/**
 * Notices a dead line before the socket does (a browser cannot see protocol pings): after a quiet
 * spell it calls `ping`, and when nothing at all arrives within the pong timeout, `dead`. No timer
 * is set per frame: frames only note the time, and the one timer looks at it when it fires.
 */
export class Heartbeat {
  readonly #timers: Timers;
  readonly #now: () => number;
  readonly #options: HeartbeatOptions;
  readonly #actions: { readonly ping: () => void; readonly dead: () => void };
  #timer: unknown = null;
  #lastHeardAt = 0;
  #pingSentAt: number | null = null;

  constructor(timers: Timers, now: () => number, options: HeartbeatOptions, actions: { ping: () => void; dead: () => void }) {
    this.#timers = timers;
    this.#now = now;
    this.#options = options;
    this.#actions = actions;
  }

  /** The connection is up: start watching. */
  start(): void {
    this.#lastHeardAt = this.#now();
    this.#pingSentAt = null;
    this.#arm(this.#options.pingAfterMs);
  }

  /** Something arrived: the line is alive. */
  heard(): void {
    this.#lastHeardAt = this.#now();
    this.#pingSentAt = null;
  }

  stop(): void {
    if (this.#timer !== null) this.#timers.clearTimeout(this.#timer);
    this.#timer = null;
    this.#pingSentAt = null;
  }

  /** Pings now if the line has been quiet long enough (the page came back into view, say). */
  check(): void {
    if (this.#timer !== null && this.#pingSentAt === null && this.#now() - this.#lastHeardAt >= this.#options.pingAfterMs) this.#ping();
  }

  #arm(ms: number): void {
    if (this.#timer !== null) this.#timers.clearTimeout(this.#timer);
    this.#timer = this.#timers.setTimeout(() => this.#fire(), ms);
  }

  #fire(): void {
    this.#timer = null;
    if (this.#pingSentAt !== null) {
      // Nothing arrived since the ping: the line is dead even if the socket has not noticed.
      this.#pingSentAt = null;
      this.#actions.dead();
      return;
    }
    const quietFor = this.#now() - this.#lastHeardAt;
    if (quietFor >= this.#options.pingAfterMs) this.#ping();
    else this.#arm(this.#options.pingAfterMs - quietFor);
  }

  #ping(): void {
    this.#pingSentAt = this.#now();
    this.#actions.ping();
    this.#arm(this.#options.pongTimeoutMs);
  }
}

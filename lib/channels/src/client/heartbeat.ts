import type { Timers } from './platform';

export interface HeartbeatOptions {
  /** After this long without a frame, ask the server for a pong. */
  readonly pingAfterMs: number;
  /** A line that stays silent this long after a ping is dead. */
  readonly pongTimeoutMs: number;
  /**
   * The pong deadline after the page comes back into view: shorter, because a socket that died
   * while the machine slept should be found out in seconds. Defaults to `pongTimeoutMs`.
   */
  readonly wakeUpPongTimeoutMs?: number;
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

  /**
   * The page came back into view: pings now if the line has been quiet long enough, and holds the
   * answer (to this ping, or to one already waiting) to the wake-up deadline.
   */
  wokeUp(): void {
    if (this.#timer === null) return;
    const deadlineMs = Math.min(this.#options.wakeUpPongTimeoutMs ?? Infinity, this.#options.pongTimeoutMs);
    if (this.#pingSentAt === null) {
      if (this.#now() - this.#lastHeardAt >= this.#options.pingAfterMs) this.#ping(deadlineMs);
    } else if (this.#pingSentAt + this.#options.pongTimeoutMs - this.#now() > deadlineMs) {
      this.#arm(deadlineMs);
    }
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

  #ping(pongTimeoutMs = this.#options.pongTimeoutMs): void {
    this.#pingSentAt = this.#now();
    this.#actions.ping();
    this.#arm(pongTimeoutMs);
  }
}

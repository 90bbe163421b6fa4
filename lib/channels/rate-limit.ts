export interface RateLimit {
  /** Tokens added per `perMs` milliseconds. */
  readonly rate: number;
  readonly perMs: number;
  /** Most tokens held at once: how many may be spent in a burst. */
  readonly burst: number;
}

/**
 * A token bucket: starts full at `burst`, refills continuously at `rate` per `perMs`, and each
 * action spends one token. Time comes from `now`, so tests need no real waiting.
 */
export class TokenBucket {
  readonly #limit: RateLimit;
  readonly #now: () => number;
  #tokens: number;
  #updatedAt: number;

  constructor(limit: RateLimit, now: () => number = Date.now) {
    if (!(limit.rate > 0 && limit.perMs > 0 && limit.burst >= 1)) {
      throw new RangeError(`invalid rate limit ${JSON.stringify(limit)}`);
    }
    this.#limit = limit;
    this.#now = now;
    this.#tokens = limit.burst;
    this.#updatedAt = now();
  }

  /** Spends a token if one is available. */
  take(): boolean {
    const now = this.#now();
    const refill = ((now - this.#updatedAt) * this.#limit.rate) / this.#limit.perMs;
    this.#tokens = Math.min(this.#limit.burst, this.#tokens + refill);
    this.#updatedAt = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}

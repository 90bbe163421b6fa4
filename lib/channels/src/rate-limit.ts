/** A rate with a burst: `{ rate: 20, perMs: 10_000, burst: 10 }` is 20 per 10 s, 10 at once. */
export interface RateLimit {
  /** Tokens added per `perMs` milliseconds. */
  readonly rate: number;
  /** The period `rate` is counted over, in milliseconds. */
  readonly perMs: number;
  /** Most tokens held at once: how many may be spent in a burst. */
  readonly burst: number;
}

function checkLimit(limit: RateLimit): void {
  if (!(limit.rate > 0 && limit.perMs > 0 && limit.burst >= 1)) {
    throw new RangeError(`invalid rate limit ${JSON.stringify(limit)}`);
  }
}

/**
 * A token bucket: starts full at `burst`, refills continuously at `rate` per `perMs`, and each
 * action spends `cost` tokens (one by default). Time comes from `now`, so tests need no real
 * waiting.
 */
export class TokenBucket {
  readonly #limit: RateLimit;
  readonly #now: () => number;
  #tokens: number;
  #updatedAt: number;

  constructor(limit: RateLimit, now: () => number = Date.now) {
    checkLimit(limit);
    this.#limit = limit;
    this.#now = now;
    this.#tokens = limit.burst;
    this.#updatedAt = now();
  }

  /** Spends `cost` tokens if that many are available; spends nothing otherwise. */
  take(cost = 1): boolean {
    this.#refill();
    if (this.#tokens < cost) return false;
    this.#tokens -= cost;
    return true;
  }

  /** Whether `cost` tokens are available now (spends nothing). */
  has(cost = 1): boolean {
    this.#refill();
    return this.#tokens >= cost;
  }

  /**
   * Spends `cost` tokens even when fewer are left: for a cost known only after the work (the
   * bytes a read produced). The debt is paid off by the refill before anything more is allowed.
   */
  charge(cost: number): void {
    this.#refill();
    this.#tokens -= cost;
  }

  #refill(): void {
    const now = this.#now();
    const refill = ((now - this.#updatedAt) * this.#limit.rate) / this.#limit.perMs;
    this.#tokens = Math.min(this.#limit.burst, this.#tokens + refill);
    this.#updatedAt = now;
  }
}

/** How a {@link KeyedBuckets} keeps time and how many keys it remembers. */
export interface KeyedBucketsOptions {
  /** The clock in milliseconds (default `Date.now`), so tests can move time without waiting. */
  readonly now?: () => number;
  /**
   * Keys remembered at most (default 100,000). Past it the least recently used key is forgotten,
   * which refills it: a full bucket and a forgotten one are the same.
   */
  readonly maxKeys?: number;
}

interface KeyedState {
  tokens: number;
  updatedAt: number;
}

/**
 * One token bucket per key (a user id, a client address), sharing one limit: what several
 * connections of one person or one address spend together. Memory is bounded by `maxKeys`, and
 * a bucket that has refilled is dropped when next seen by the sweep, so idle keys cost nothing.
 */
export class KeyedBuckets {
  readonly #limit: RateLimit;
  readonly #now: () => number;
  readonly #maxKeys: number;
  /** Least recently used first. */
  readonly #states = new Map<string, KeyedState>();

  constructor(limit: RateLimit, options: KeyedBucketsOptions = {}) {
    checkLimit(limit);
    this.#limit = limit;
    this.#now = options.now ?? Date.now;
    this.#maxKeys = options.maxKeys ?? 100_000;
  }

  /** The limit every key shares. */
  get limit(): RateLimit {
    return this.#limit;
  }

  /** Keys remembered now (tests, metrics). */
  get size(): number {
    return this.#states.size;
  }

  /** Whether `key` has `cost` tokens now. */
  has(key: string, cost = 1): boolean {
    return this.#tokens(key) >= cost;
  }

  /** Spends `cost` tokens of `key` if it has them; spends nothing otherwise. */
  take(key: string, cost = 1): boolean {
    const tokens = this.#tokens(key);
    if (tokens < cost) return false;
    this.#store(key, tokens - cost);
    return true;
  }

  /** Spends `cost` tokens of `key` even into debt (see `TokenBucket.charge`). */
  charge(key: string, cost: number): void {
    this.#store(key, this.#tokens(key) - cost);
  }

  /** Milliseconds until `key` has `cost` tokens (0 when it has them now). */
  msUntil(key: string, cost = 1): number {
    const missing = cost - this.#tokens(key);
    return missing <= 0 ? 0 : Math.ceil((missing * this.#limit.perMs) / this.#limit.rate);
  }

  #tokens(key: string): number {
    const state = this.#states.get(key);
    if (state === undefined) return this.#limit.burst;
    const now = this.#now();
    return Math.min(this.#limit.burst, state.tokens + ((now - state.updatedAt) * this.#limit.rate) / this.#limit.perMs);
  }

  #store(key: string, tokens: number): void {
    const states = this.#states;
    states.delete(key);
    if (tokens >= this.#limit.burst) return;
    states.set(key, { tokens, updatedAt: this.#now() });
    if (states.size > this.#maxKeys) this.#sweep();
  }

  /**
   * Drops the keys that have refilled, then the least recently used until a tenth of the room is
   * free: a sweep costs one pass, and one comes at most every `maxKeys / 10` new keys.
   */
  #sweep(): void {
    const states = this.#states;
    for (const key of [...states.keys()]) {
      if (this.#tokens(key) >= this.#limit.burst) states.delete(key);
    }
    const keep = Math.floor(this.#maxKeys * 0.9);
    for (const key of states.keys()) {
      if (states.size <= keep) break;
      states.delete(key);
    }
  }
}

/** Milliseconds to wait before reconnect attempt `attempt` (1 for the first retry). */
export type Backoff = (attempt: number) => number;

/** The shape of {@link exponentialBackoff}'s delays. */
export interface BackoffOptions {
  /** The ceiling of the first retry's delay (default 500 ms); it doubles each attempt. */
  readonly baseMs?: number;
  /** The most any delay can be (default 30 s). */
  readonly capMs?: number;
  /** A number in [0, 1): `Math.random` unless a test fixes it. */
  readonly random?: () => number;
}

/**
 * Capped exponential backoff with full jitter: a random delay between 0 and
 * `min(cap, base × 2^(attempt − 1))`, so a crowd of clients that lost the same server does not
 * come back in step.
 */
export function exponentialBackoff(options: BackoffOptions = {}): Backoff {
  const base = options.baseMs ?? 500;
  const cap = options.capMs ?? 30_000;
  const random = options.random ?? Math.random;
  return (attempt) => Math.floor(random() * Math.min(cap, base * 2 ** Math.max(0, attempt - 1)));
}

/**
 * Latencies in fixed buckets of 10 µs up to 10 s (one array increment per sample, so the
 * generator can record every delivery), with percentiles read off the counts.
 */
const RESOLUTION_MS = 0.01;
const BUCKETS = 1_000_000;

export class LatencyHistogram {
  readonly #counts = new Uint32Array(BUCKETS + 1);
  #total = 0;
  #max = 0;

  get count(): number {
    return this.#total;
  }

  record(ms: number): void {
    const bucket = ms <= 0 ? 0 : Math.min(BUCKETS, Math.floor(ms / RESOLUTION_MS));
    this.#counts[bucket]!++;
    this.#total++;
    if (ms > this.#max) this.#max = ms;
  }

  /** The latency below which `fraction` of the samples fall, in milliseconds (NaN when empty). */
  percentile(fraction: number): number {
    if (this.#total === 0) return Number.NaN;
    const rank = Math.ceil(fraction * this.#total);
    let seen = 0;
    for (let bucket = 0; bucket <= BUCKETS; bucket++) {
      seen += this.#counts[bucket]!;
      if (seen >= rank) return (bucket + 1) * RESOLUTION_MS;
    }
    return this.#max;
  }

  get max(): number {
    return this.#max;
  }

  reset(): void {
    this.#counts.fill(0);
    this.#total = 0;
    this.#max = 0;
  }
}

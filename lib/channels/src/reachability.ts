import type { LogFields, Logger } from './logger';

/**
 * Whether a service a process depends on (Redis, a database) can be reached, as the logs tell
 * it: one line when it is lost (`<name> unreachable`, a warning, with why) and one when it is back
 * (`<name> reachable again`, with how long it was away and what was done about it), however many
 * errors come in between. Operators see every outage, a blip of a second included, and only once.
 */
export class Reachability {
  readonly #name: string;
  readonly #logger: Logger;
  readonly #now: () => number;
  #downSince: number | null = null;
  #waiting: Array<() => void> = [];

  constructor(name: string, logger: Logger, now: () => number = Date.now) {
    this.#name = name;
    this.#logger = logger;
    this.#now = now;
  }

  /** The service answered lately. */
  get up(): boolean {
    return this.#downSince === null;
  }

  /** When it was lost (`Date.now()` time), or `null` while it is up. */
  get downSince(): number | null {
    return this.#downSince;
  }

  /** Resolves at once while the service is up, else once it is back. */
  whenUp(): Promise<void> {
    if (this.#downSince === null) return Promise.resolve();
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  /** The service failed to answer; the first failure of an outage is logged. */
  lost(reason: unknown, fields: LogFields = {}): void {
    if (this.#downSince !== null) return;
    this.#downSince = this.#now();
    this.#logger.warn(`${this.#name} unreachable`, { ...fields, reason: describe(reason) });
  }

  /**
   * The service answers again: logged with the outage's length and `fields` (what was resynced).
   * Answers how long it was away in milliseconds, or `null` when it was not.
   */
  back(fields: LogFields = {}): number | null {
    const since = this.#downSince;
    if (since === null) return null;
    this.#downSince = null;
    const downMs = this.#now() - since;
    this.#logger.info(`${this.#name} reachable again`, { ...fields, downMs });
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const resolve of waiting) resolve();
    return downMs;
  }
}

function describe(reason: unknown): string {
  return reason instanceof Error ? reason.message : String(reason);
}

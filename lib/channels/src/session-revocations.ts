/**
 * Where the sessions that were ended (signed out, revoked) are kept, shared by every process of a
 * site: the app implements it over its database. A session id stays revoked until `expiresAt`,
 * after which every cookie of that session has expired anyway and the record may be dropped.
 */
export interface SessionRevocations {
  /** Records that session `id` is over. Resolves once every process can see it. */
  revokeSession(id: string, expiresAt: number): Promise<void>;
  /** Whether session `id` was revoked (and the record has not expired). */
  isSessionRevoked(id: string): Promise<boolean>;
}

/** How long a {@link RevocationCheck} trusts what the store said. */
export interface RevocationCheckOptions {
  /**
   * How long a "not revoked" answer from the store is trusted (default 2 s): the longest a
   * session revoked by another process stays usable in this one. A revocation made in this
   * process counts here at once.
   */
  readonly cacheMs?: number;
  /**
   * While the store cannot answer (a database outage), a session this process found not revoked
   * within this long is still let in (default 10 minutes); any other is refused. A revocation
   * cannot be recorded during an outage either, so this opens no new way in.
   */
  readonly staleMs?: number;
  /** Sessions remembered either way; past this the oldest are asked again (default 10,000). */
  readonly maxEntries?: number;
  /** The clock in milliseconds (default `Date.now`), so tests can move time without waiting. */
  readonly now?: () => number;
}

/**
 * This process's view of the revocations: the store's answers, kept for `cacheMs`, so that a
 * session that opens many sockets and pages costs one store read per `cacheMs`, and concurrent
 * checks of one session share one read.
 */
export class RevocationCheck {
  readonly #store: SessionRevocations;
  readonly #cacheMs: number;
  readonly #staleMs: number;
  readonly #maxEntries: number;
  readonly #now: () => number;
  /** Revoked here, or found revoked: id → when the record expires. */
  readonly #revoked = new Map<string, number>();
  /** Found not revoked: id → when the store said so. */
  readonly #valid = new Map<string, number>();
  readonly #reading = new Map<string, Promise<boolean>>();

  constructor(store: SessionRevocations, options: RevocationCheckOptions = {}) {
    this.#store = store;
    this.#cacheMs = options.cacheMs ?? 2_000;
    this.#staleMs = Math.max(this.#cacheMs, options.staleMs ?? 600_000);
    this.#maxEntries = options.maxEntries ?? 10_000;
    this.#now = options.now ?? Date.now;
  }

  /**
   * Whether session `id` was revoked, from the cache while it is fresh. When the store cannot
   * answer, a session found valid within `staleMs` counts as not revoked; otherwise this rejects.
   */
  isRevoked(id: string): Promise<boolean> {
    const now = this.#now();
    const expiresAt = this.#revoked.get(id);
    if (expiresAt !== undefined) {
      if (expiresAt > now) return Promise.resolve(true);
      this.#revoked.delete(id);
    }
    const checkedAt = this.#valid.get(id);
    if (checkedAt !== undefined && now - checkedAt < this.#cacheMs) return Promise.resolve(false);
    let reading = this.#reading.get(id);
    if (reading === undefined) {
      reading = this.#store.isSessionRevoked(id).then(
        (revoked) => {
          this.#reading.delete(id);
          // Found revoked by another process: its record's expiry is not known here, and a day
          // is long enough to spare the store while short enough to bound this map's memory.
          if (revoked) this.#remember(this.#revoked, id, this.#now() + 86_400_000);
          else this.#remember(this.#valid, id, now);
          return revoked;
        },
        (error: unknown) => {
          this.#reading.delete(id);
          const lastValid = this.#valid.get(id);
          if (lastValid !== undefined && this.#now() - lastValid < this.#staleMs) return false;
          throw error;
        },
      );
      this.#reading.set(id, reading);
    }
    return reading;
  }

  /** Revokes session `id` in the store, and here at once. */
  async revoke(id: string, expiresAt: number): Promise<void> {
    this.#valid.delete(id);
    this.#remember(this.#revoked, id, expiresAt);
    await this.#store.revokeSession(id, expiresAt);
  }

  #remember(map: Map<string, number>, id: string, value: number): void {
    map.delete(id);
    map.set(id, value);
    // Insertion order is age order: the first key is the oldest.
    if (map.size > this.#maxEntries) map.delete(map.keys().next().value!);
  }
}

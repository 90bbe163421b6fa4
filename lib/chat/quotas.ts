import { KeyedBuckets, type RateLimit, TokenBucket } from 'next-channels';

/**
 * What one person and one client address may spend, across all their connections and rooms in
 * this process, beside what each connection may spend. Derived from the message limit
 * (`RATE_LIMIT`, default 20 per 10 s, bursts of 10); every figure is an option so tests can use
 * small ones.
 */
export interface QuotaOptions {
  /** Chat messages per connection and per person. */
  readonly messages: RateLimit;
  /**
   * Chat messages (and bytes) per address, in people's shares (default 1, as the SPEC has it:
   * the message limit holds per connection, per person and per address). Raise it where many
   * people share an address (an office behind one NAT).
   */
  readonly addressShares?: number;
  /** UTF-8 bytes of message text per message of the limit (default 2 KiB): the byte quota beside the count. */
  readonly bytesPerMessage?: number;
  /** Frames of any kind per chat message of the limit, per connection (default 5). */
  readonly framesPerMessage?: number;
  /** Frame bytes per connection and window (default 8 KiB per message of the limit). */
  readonly frameBytesPerMessage?: number;
  /** Frames per address, in connections' worth (default 25: a crowd behind one address can chat). */
  readonly addressFrameShares?: number;
  /** History rows (messages asked for) per connection (default 500 per window, bursts of 300). */
  readonly historyRows?: RateLimit;
  /** History rows per address (default 2,000 per window, bursts of 1,000). */
  readonly addressHistoryRows?: RateLimit;
  /** History bytes served per address (default 4 MiB per window, bursts of 2 MiB). */
  readonly addressHistoryBytes?: RateLimit;
  /**
   * Rows read to resume connections, per address (default 20,000 per window and in a burst): a
   * client back from a long absence needs everything it missed, so resumes wait for this budget
   * rather than being refused, and go at the pace the client reads.
   */
  readonly addressResumeRows?: RateLimit;
  readonly now?: () => number;
}

/** Why something was refused, for the error frame's detail. */
export type QuotaRefusal = 'connection' | 'person' | 'address';

/**
 * The budgets of one process (see `QuotaOptions`). Limits are per process: behind a load
 * balancer that sends an address to any of `n` processes, an address gets up to `n` times its
 * share (docs/operations.md says how to keep it at one).
 */
export class ChatQuotas {
  readonly #options: Required<Omit<QuotaOptions, 'now'>>;
  readonly #now: () => number;
  readonly userMessages: KeyedBuckets;
  readonly userBytes: KeyedBuckets;
  readonly addressMessages: KeyedBuckets;
  readonly addressBytes: KeyedBuckets;
  readonly addressFrames: KeyedBuckets;
  readonly addressFrameBytes: KeyedBuckets;
  readonly addressHistoryRows: KeyedBuckets;
  readonly addressHistoryBytes: KeyedBuckets;
  readonly addressResumeRows: KeyedBuckets;

  constructor(options: QuotaOptions) {
    const messages = options.messages;
    const window = messages.perMs;
    this.#options = {
      messages,
      addressShares: options.addressShares ?? 1,
      bytesPerMessage: options.bytesPerMessage ?? 2_048,
      framesPerMessage: options.framesPerMessage ?? 5,
      frameBytesPerMessage: options.frameBytesPerMessage ?? 8_192,
      addressFrameShares: options.addressFrameShares ?? 25,
      historyRows: options.historyRows ?? { rate: 500, perMs: window, burst: 300 },
      addressHistoryRows: options.addressHistoryRows ?? { rate: 2_000, perMs: window, burst: 1_000 },
      addressHistoryBytes: options.addressHistoryBytes ?? { rate: 4 * 1024 * 1024, perMs: window, burst: 2 * 1024 * 1024 },
      addressResumeRows: options.addressResumeRows ?? { rate: 20_000, perMs: window, burst: 20_000 },
    };
    this.#now = options.now ?? Date.now;
    const now = { now: this.#now };
    const o = this.#options;
    this.userMessages = new KeyedBuckets(messages, now);
    this.userBytes = new KeyedBuckets(scale(messages, o.bytesPerMessage), now);
    this.addressMessages = new KeyedBuckets(scale(messages, o.addressShares), now);
    this.addressBytes = new KeyedBuckets(scale(messages, o.addressShares * o.bytesPerMessage), now);
    this.addressFrames = new KeyedBuckets(scale(messages, o.framesPerMessage * o.addressFrameShares), now);
    this.addressFrameBytes = new KeyedBuckets(scale(messages, o.frameBytesPerMessage * o.addressFrameShares), now);
    this.addressHistoryRows = new KeyedBuckets(o.addressHistoryRows, now);
    this.addressHistoryBytes = new KeyedBuckets(o.addressHistoryBytes, now);
    this.addressResumeRows = new KeyedBuckets(o.addressResumeRows, now);
  }

  /** The chat-message limit of each connection and person, as the welcome frame announces it. */
  get messageLimit(): RateLimit {
    return this.#options.messages;
  }

  /** The budgets of one connection of `userId` from `address`. */
  forConnection(userId: string, address: string): ConnectionQuota {
    return new ConnectionQuota(this, this.#options, userId, address, this.#now);
  }
}

/**
 * One connection's view of the budgets: each check looks at the connection's own bucket and at
 * the person's and the address's, and spends from all of them or from none.
 */
export class ConnectionQuota {
  readonly #quotas: ChatQuotas;
  readonly #userId: string;
  readonly #address: string;
  readonly #messages: TokenBucket;
  readonly #frames: TokenBucket;
  readonly #frameBytes: TokenBucket;
  readonly #historyRows: TokenBucket;

  constructor(quotas: ChatQuotas, options: Required<Omit<QuotaOptions, 'now'>>, userId: string, address: string, now: () => number) {
    this.#quotas = quotas;
    this.#userId = userId;
    this.#address = address;
    this.#messages = new TokenBucket(options.messages, now);
    this.#frames = new TokenBucket(scale(options.messages, options.framesPerMessage), now);
    this.#frameBytes = new TokenBucket(scale(options.messages, options.frameBytesPerMessage), now);
    this.#historyRows = new TokenBucket(options.historyRows, now);
  }

  /** A frame of `bytes` arrived: may it be parsed? Checked before anything is done with it. */
  frame(bytes: number): QuotaRefusal | null {
    const q = this.#quotas;
    const address = this.#address;
    if (!this.#frames.has() || !this.#frameBytes.has(bytes)) return 'connection';
    if (!q.addressFrames.has(address) || !q.addressFrameBytes.has(address, bytes)) return 'address';
    this.#frames.take();
    this.#frameBytes.take(bytes);
    q.addressFrames.take(address);
    q.addressFrameBytes.take(address, bytes);
    return null;
  }

  /** A chat message of `bytes` (UTF-8) of text: may it be stored? */
  message(bytes: number): QuotaRefusal | null {
    const q = this.#quotas;
    const user = this.#userId;
    const address = this.#address;
    if (!this.#messages.has()) return 'connection';
    if (!q.userMessages.has(user) || !q.userBytes.has(user, bytes)) return 'person';
    if (!q.addressMessages.has(address) || !q.addressBytes.has(address, bytes)) return 'address';
    this.#messages.take();
    q.userMessages.take(user);
    q.userBytes.take(user, bytes);
    q.addressMessages.take(address);
    q.addressBytes.take(address, bytes);
    return null;
  }

  /** A history page of up to `rows` messages is asked for: may it be read? */
  history(rows: number): QuotaRefusal | null {
    const q = this.#quotas;
    const address = this.#address;
    if (!this.#historyRows.has(rows)) return 'connection';
    if (!q.addressHistoryRows.has(address, rows) || !q.addressHistoryBytes.has(address)) return 'address';
    this.#historyRows.take(rows);
    q.addressHistoryRows.take(address, rows);
    return null;
  }

  /** What a history read served, in bytes, known only after it: may leave the address in debt. */
  historyServed(bytes: number): void {
    this.#quotas.addressHistoryBytes.charge(this.#address, bytes);
  }

  /**
   * How long a resume must wait before reading `rows` more (0: now, and the rows are spent). A
   * resume is not refused, since the client needs what it missed: its reads wait for the
   * address's budget.
   */
  resumeWaitMs(rows: number): number {
    const resume = this.#quotas.addressResumeRows;
    const wait = resume.msUntil(this.#address, rows);
    if (wait === 0) resume.take(this.#address, rows);
    return wait;
  }
}

function scale(limit: RateLimit, factor: number): RateLimit {
  return { rate: limit.rate * factor, perMs: limit.perMs, burst: limit.burst * factor };
}

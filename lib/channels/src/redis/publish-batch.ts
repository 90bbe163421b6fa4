import type { Flushable, FlushPacer } from '../flush-pacer';

/** Publishes one payload per Redis channel; resolves when Redis has them all, and never rejects. */
export type PublishAll = (payloads: ReadonlyMap<string, string>) => Promise<void>;

/**
 * The layer's outgoing messages, gathered until the process's next paced flush (the one that
 * writes the client sockets) and sent as one payload per Redis channel: the JSON texts of one
 * channel joined into a JSON array. Under load, when flushes are spaced, one PUBLISH (one write
 * here, one read in every other process, one parse there) carries many messages; when the
 * process is idle it goes out at the end of the turn, as a lone message did before.
 */
export class PublishBatch implements Flushable {
  readonly #publishAll: PublishAll;
  readonly #pacer: FlushPacer;
  /** Redis channel → the JSON texts queued for it, in order. */
  #queued = new Map<string, string[]>();
  #sent: { readonly promise: Promise<void>; readonly resolve: () => void } | null = null;

  constructor(publishAll: PublishAll, pacer: FlushPacer) {
    this.#publishAll = publishAll;
    this.#pacer = pacer;
  }

  /** Queues `json` (one JSON object) for `channel`; resolves once it has been published or given up. */
  add(channel: string, json: string): Promise<void> {
    if (this.#sent === null) {
      let resolve!: () => void;
      const promise = new Promise<void>((done) => (resolve = done));
      this.#sent = { promise, resolve };
      this.#pacer.flushSoon(this);
    }
    const texts = this.#queued.get(channel);
    if (texts) texts.push(json);
    else this.#queued.set(channel, [json]);
    return this.#sent.promise;
  }

  /** Publishes what is queued now, and resolves once Redis has it (before disconnecting). */
  async drain(): Promise<void> {
    const sent = this.#sent;
    this.flush();
    await sent?.promise;
  }

  /** Publishes what is queued; answers how many messages went. */
  flush(): number {
    const sent = this.#sent;
    if (sent === null) return 0;
    const queued = this.#queued;
    this.#sent = null;
    this.#queued = new Map();
    const payloads = new Map<string, string>();
    let messages = 0;
    for (const [channel, texts] of queued) {
      payloads.set(channel, texts.length === 1 ? texts[0]! : `[${texts.join(',')}]`);
      messages += texts.length;
    }
    void this.#publishAll(payloads).then(sent.resolve);
    return messages;
  }
}

/** The messages of one payload made by `PublishBatch`: its array's items, or the one object. */
export function unbatch(payload: string): unknown[] {
  const parsed: unknown = JSON.parse(payload);
  return Array.isArray(parsed) ? parsed : [parsed];
}

/**
 * A raw client of the HTTP fallback for tests: opens a stream with `fetch`, reads its events one
 * by one, and POSTs batches exactly as given (right or wrong), so tests see the wire itself.
 */

/** One server-sent event. */
export interface StreamEvent {
  readonly event: string;
  readonly data: string;
}

/** The open event's fields. */
export interface StreamOpen {
  readonly connection: string;
  readonly token: string;
  readonly ping_ms: number;
  readonly max_frame_bytes: number;
}

/** What a POST answered. */
export interface PostAnswer {
  readonly status: number;
  readonly next: number | null;
  readonly body: string;
}

/** A stream as the test reads it. */
export class TestStream {
  readonly status: number;
  readonly headers: Headers;
  /** The open event, when the stream was accepted. */
  open: StreamOpen | null = null;
  readonly #reader: ReadableStreamDefaultReader<Uint8Array> | null;
  readonly #abort: AbortController;
  readonly #decoder = new TextDecoder();
  readonly #base: string;
  readonly #origin: string | undefined;
  #buffer = '';
  #ended = false;
  #seq = 1;

  private constructor(response: Response, abort: AbortController, base: string, origin: string | undefined) {
    this.status = response.status;
    this.headers = response.headers;
    this.#reader = response.body ? response.body.getReader() : null;
    this.#abort = abort;
    this.#base = base;
    this.#origin = origin;
  }

  /**
   * Opens `url` (`http://host/path?query`) as a stream; resolves once the answer's head is in,
   * and with the open event read when it is a 200.
   */
  static async open(url: string, init: { method?: 'POST' | 'GET'; headers?: Record<string, string> } = {}): Promise<TestStream> {
    const abort = new AbortController();
    const target = new URL(url);
    target.searchParams.set('_channels', 'sse');
    const method = init.method ?? 'POST';
    const headers: Record<string, string> = { accept: 'text/event-stream', ...init.headers };
    if (method === 'POST') headers['content-type'] = 'application/json';
    const response = await fetch(target, { method, headers, body: method === 'POST' ? '{}' : undefined, signal: abort.signal });
    const stream = new TestStream(response, abort, `${target.origin}${target.pathname}`, headers.origin);
    if (response.status === 200) {
      const first = await stream.next();
      if (first.event !== 'open') throw new Error(`the stream began with ${first.event}`);
      stream.open = JSON.parse(first.data) as StreamOpen;
    }
    return stream;
  }

  /** The answer's body, for a refused stream. */
  async text(): Promise<string> {
    let text = this.#buffer;
    for (;;) {
      const chunk = await this.#reader?.read();
      if (!chunk || chunk.done) return text;
      text += this.#decoder.decode(chunk.value, { stream: true });
    }
  }

  /** The next event; rejects when the stream ends first. */
  async next(): Promise<StreamEvent> {
    for (;;) {
      const end = this.#buffer.indexOf('\n\n');
      if (end !== -1) {
        const block = this.#buffer.slice(0, end);
        this.#buffer = this.#buffer.slice(end + 2);
        let event = 'message';
        const data: string[] = [];
        for (const line of block.split('\n')) {
          if (line.startsWith('event:')) event = line.slice(6).trim();
          else if (line.startsWith('data:')) data.push(line.slice(line.startsWith('data: ') ? 6 : 5));
        }
        if (data.length === 0 && event === 'message') continue;
        return { event, data: data.join('\n') };
      }
      const chunk = this.#reader ? await this.#reader.read().catch(() => ({ done: true as const, value: undefined })) : { done: true as const, value: undefined };
      if (chunk.done) {
        this.#ended = true;
        throw new Error('the stream ended');
      }
      this.#buffer += this.#decoder.decode(chunk.value, { stream: true });
    }
  }

  /** The next frame (an unnamed event), skipping pings. */
  async frame(): Promise<string> {
    for (;;) {
      const next = await this.next();
      if (next.event === 'message') return next.data;
      if (next.event !== 'ping') throw new Error(`expected a frame, got ${next.event}: ${next.data}`);
    }
  }

  /** Reads until the close event and answers its code and reason (1006 when the stream just ends). */
  async closed(): Promise<{ code: number; reason: string }> {
    for (;;) {
      let next: StreamEvent;
      try {
        next = await this.next();
      } catch {
        return { code: 1006, reason: '' };
      }
      if (next.event === 'close') return JSON.parse(next.data) as { code: number; reason: string };
    }
  }

  /** Whether the stream has ended. */
  get ended(): boolean {
    return this.#ended;
  }

  /** Sends frames as the next batch, numbered on from the last. */
  async send(...frames: unknown[]): Promise<PostAnswer> {
    return this.sendVia(this.#base, ...frames);
  }

  /** Sends frames as the next batch through another server (`http://host:port/path`). */
  async sendVia(base: string, ...frames: unknown[]): Promise<PostAnswer> {
    const answer = await this.post({ seq: this.#seq, frames }, {}, base);
    if (answer.next !== null) this.#seq = answer.next;
    return answer;
  }

  /**
   * POSTs `body` (an object is sent as JSON) with this stream's id and token unless `headers` say
   * otherwise, to this stream's server or the one at `base`.
   */
  async post(body: unknown, headers: Record<string, string> = {}, base: string = this.#base): Promise<PostAnswer> {
    const response = await fetch(`${base}?_channels=send`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-channels-connection': this.open?.connection ?? '',
        'x-channels-token': this.open?.token ?? '',
        ...(this.#origin === undefined ? {} : { origin: this.#origin }),
        ...headers,
      },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    const next = response.headers.get('x-channels-next');
    return { status: response.status, next: next === null ? null : Number(next), body: await response.text() };
  }

  /** Drops the stream, as a client that goes away does. */
  abort(): void {
    this.#abort.abort();
  }
}

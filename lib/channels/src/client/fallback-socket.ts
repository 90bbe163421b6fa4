import { type FallbackUrls, fallbackUrls } from './fallback-urls';
import { type FetchLike, globalFetch, globalTimers, reportLater, type Timers, type WebSocketLike } from './platform';
import { SseParser } from './sse-parser';

/** What a {@link FallbackSocket} uses of its surroundings; each is injectable for tests. */
export interface FallbackSocketOptions {
  /** Makes the HTTP requests (default the global `fetch`). */
  readonly fetch?: FetchLike;
  /** Sets the retry delays of a batch (default the global timers). */
  readonly timers?: Timers;
  /** The clock in ms, to tell whether a POST went out recently enough to skip a beat (default `Date.now`). */
  readonly now?: () => number;
}

interface Session {
  readonly connection: string;
  readonly token: string;
  readonly pingMs: number;
}

const CONNECTING = 0;
const OPEN = 1;
const CLOSED = 3;
/** What a browser reports for a connection refused or lost without a close frame. */
const ABNORMAL = 1006;
const NORMAL = 1000;
/** A batch carries frames up to about this many bytes of text, and always at least one frame. */
const MAX_BATCH_BYTES = 64 * 1024;
/** The waits before the retries of a batch that met a network error or a 502, 503 or 504. */
const RETRY_DELAYS_MS: readonly number[] = [250, 500, 1_000];
const RETRIED_STATUSES: ReadonlySet<number> = new Set([502, 503, 504]);
/**
 * After a 429 (the server's POST budget, 100 in 10 s per connection, is spent) the batch waits
 * this long and goes again, with whatever was sent meanwhile: a client that sends faster than
 * the budget is slowed down, not disconnected.
 */
const OVER_BUDGET_WAIT_MS = 1_000;
const DEFAULT_PING_MS = 25_000;

/**
 * A WebSocket for networks that refuse the upgrade: the same {@link WebSocketLike} face, carried
 * over a server-sent-events stream (server to client) and POSTed batches of frames (client to
 * server) on the consumer's own path. `ChannelSocket` switches to it by itself (its `fallback`
 * option); made by hand, it takes the URL a WebSocket would open:
 *
 * ```ts
 * const socket = new FallbackSocket('wss://example.com/ws/chat/lobby/');
 * socket.onmessage = (event) => console.log(event.data);
 * ```
 *
 * Frames are numbered from 1; one POST is on the wire at a time and frames sent meanwhile go as
 * the next batch, so the server takes them in order. A batch that meets a network error or a
 * 502/503/504 is sent again (same numbers) after 250 ms, 500 ms and 1 s, then the socket closes
 * with 1006, as does any other refusal, a stream that cannot open, or one that ends without a
 * `close` event. A batch refused with 429 (over the server's POST budget) goes again a second
 * later, with the frames sent meanwhile.
 */
export class FallbackSocket implements WebSocketLike {
  /** The WebSocket URL this socket stands in for. */
  readonly url: string;
  /** The handshake completed (the stream's `open` event). */
  onopen: ((event: never) => void) | null = null;
  /** A text frame arrived. */
  onmessage: ((event: { readonly data: unknown }) => void) | null = null;
  /** The socket closed: the server's code and reason, 1006 when lost, or the code given to `close`. */
  onclose: ((event: { readonly code: number; readonly reason?: string }) => void) | null = null;
  /** The connection failed (1006); `onclose` follows. */
  onerror: ((event: never) => void) | null = null;

  readonly #fetch: FetchLike;
  readonly #timers: Timers;
  readonly #now: () => number;
  readonly #urls: FallbackUrls;
  readonly #stream = new AbortController();
  #readyState = CONNECTING;
  #session: Session | null = null;
  /** Frames given to `send` and not yet acknowledged; the first is number `#firstSeq`. */
  readonly #unacknowledged: string[] = [];
  #firstSeq = 1;
  /** How many of `#unacknowledged` the POST on the wire carries (0 for a beat); `null` when none is. */
  #inFlight: number | null = null;
  #failedTries = 0;
  #retryTimer: unknown = null;
  #lastPostAt = Number.NEGATIVE_INFINITY;

  /** Opens the stream at once; `url` is the `ws:` or `wss:` URL a WebSocket would open. */
  constructor(url: string, options: FallbackSocketOptions = {}) {
    this.url = url;
    this.#urls = fallbackUrls(url);
    this.#fetch = options.fetch ?? globalFetch;
    this.#timers = options.timers ?? globalTimers;
    this.#now = options.now ?? Date.now;
    void this.#openStream();
  }

  /** 0 connecting, 1 open, 3 closed, as a browser's WebSocket numbers them. */
  get readyState(): number {
    return this.#readyState;
  }

  /**
   * Sends a text frame: at once when no POST is on the wire, else with the next batch. Throws an
   * `InvalidStateError` while connecting, as a browser's WebSocket does; does nothing once closed.
   */
  send(data: string): void {
    if (this.#readyState === CONNECTING) throw new DOMException('the fallback socket is still connecting', 'InvalidStateError');
    if (this.#readyState !== OPEN) return;
    this.#unacknowledged.push(data);
    this.#flush();
  }

  /**
   * Closes: tells the server (best effort, a `keepalive` POST whose answer is not awaited), stops
   * the stream, and reports `code` (default 1000) to `onclose`. While still connecting there is
   * nobody to tell: the attempt is given up and reported as 1006, as a browser does.
   */
  close(code?: number, reason?: string): void {
    if (this.#readyState === CLOSED) return;
    const session = this.#session;
    if (this.#readyState === CONNECTING || session === null) {
      this.#end();
      queueMicrotask(() => this.#reportClose(ABNORMAL, '', true));
      return;
    }
    const seq = this.#firstSeq + this.#unacknowledged.length;
    this.#fetch(this.#urls.send, {
      method: 'POST',
      keepalive: true,
      credentials: 'same-origin',
      cache: 'no-store',
      headers: this.#sendHeaders(session),
      body: JSON.stringify({ seq, frames: [], close: code ?? NORMAL }),
    }).then(discardBody, () => {});
    this.#end();
    queueMicrotask(() => this.#reportClose(code ?? NORMAL, reason ?? '', false));
  }

  // ---- server to client ----

  async #openStream(): Promise<void> {
    let response: Response;
    try {
      response = await this.#fetch(this.#urls.stream, {
        method: 'POST',
        credentials: 'same-origin',
        cache: 'no-store',
        headers: { 'Content-Type': 'application/json', Accept: 'text/event-stream' },
        body: '{}',
        signal: this.#stream.signal,
      });
    } catch {
      this.#lost();
      return;
    }
    const body = response.body;
    if (this.#readyState === CLOSED || response.status !== 200 || !isEventStream(response.headers.get('Content-Type')) || body === null) {
      discardBody(response);
      this.#lost();
      return;
    }
    const reader = body.getReader();
    const parser = new SseParser((name, data) => this.#event(name, data));
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done || this.#readyState === CLOSED) break;
        parser.push(value);
      }
      parser.end();
    } catch {
      // Aborted by `close`, or the line dropped: either way the stream is over.
    }
    if (this.#readyState === CLOSED) reader.cancel().catch(() => {});
    this.#lost();
  }

  #event(name: string, data: string): void {
    if (this.#readyState === CLOSED) return;
    switch (name) {
      case 'open': {
        const session = this.#readyState === CONNECTING ? parseSession(data) : null;
        if (session === null) {
          this.#lost();
          return;
        }
        this.#session = session;
        this.#readyState = OPEN;
        this.#call(this.onopen, undefined as never);
        return;
      }
      case 'message':
        if (this.#readyState === OPEN) this.#call(this.onmessage, { data });
        return;
      case 'ping':
        if (this.#readyState === OPEN) this.#beat();
        return;
      case 'close': {
        const { code, reason } = parseClose(data);
        this.#end();
        this.#reportClose(code, reason, false);
        return;
      }
      default:
        // An event of a later version: nothing to do here.
        return;
    }
  }

  // ---- client to server ----

  /** Sends the next batch, unless one is on the wire (its answer sends the next). */
  #flush(): void {
    if (this.#readyState !== OPEN || this.#inFlight !== null || this.#unacknowledged.length === 0) return;
    let count = 0;
    let bytes = 0;
    for (const frame of this.#unacknowledged) {
      bytes += utf8Length(frame);
      if (count > 0 && bytes > MAX_BATCH_BYTES) break;
      count++;
    }
    this.#inFlight = count;
    void this.#post();
  }

  /**
   * Answers the server's ping with an empty batch, which shows it this client is still there,
   * unless a POST did so recently or one is on the wire now.
   */
  #beat(): void {
    const pingMs = this.#session?.pingMs ?? DEFAULT_PING_MS;
    if (this.#inFlight !== null || this.#now() - this.#lastPostAt < pingMs / 2) return;
    this.#inFlight = 0;
    void this.#post();
  }

  /** Posts the batch `#inFlight` says, from `#firstSeq`, and acts on the answer. */
  async #post(): Promise<void> {
    const session = this.#session;
    const count = this.#inFlight;
    if (session === null || count === null) return;
    const seq = this.#firstSeq;
    this.#lastPostAt = this.#now();
    let response: Response;
    try {
      response = await this.#fetch(this.#urls.send, {
        method: 'POST',
        credentials: 'same-origin',
        cache: 'no-store',
        headers: this.#sendHeaders(session),
        body: JSON.stringify({ seq, frames: this.#unacknowledged.slice(0, count) }),
      });
    } catch {
      this.#retryLater();
      return;
    }
    if (this.#readyState !== OPEN) {
      discardBody(response);
      return;
    }
    if (response.status === 204) {
      this.#acknowledged(Number(response.headers.get('X-Channels-Next') ?? seq + count));
    } else if (response.status === 409) {
      // A gap or an overlap (a batch the server took whose answer was lost): go on from where it is.
      const expected = await response.json().then((body: unknown) => (isRecord(body) ? body.expected : undefined), () => undefined);
      if (this.#readyState === OPEN) this.#acknowledged(typeof expected === 'number' ? expected : Number.NaN);
    } else if (RETRIED_STATUSES.has(response.status)) {
      discardBody(response);
      this.#retryLater();
    } else if (response.status === 429) {
      discardBody(response);
      this.#retryTimer = this.#timers.setTimeout(() => {
        this.#retryTimer = null;
        this.#inFlight = null;
        this.#flush();
      }, OVER_BUDGET_WAIT_MS);
    } else {
      discardBody(response);
      this.#lost();
    }
  }

  /** The server has every frame below `next`: drop those, and send what waits. */
  #acknowledged(next: number): void {
    const dropped = next - this.#firstSeq;
    // Below what was dropped already, or past what was sent: the two sides no longer agree.
    if (!Number.isInteger(next) || dropped < 0 || dropped > this.#unacknowledged.length) {
      this.#lost();
      return;
    }
    this.#unacknowledged.splice(0, dropped);
    this.#firstSeq = next;
    this.#inFlight = null;
    this.#failedTries = 0;
    this.#flush();
  }

  #retryLater(): void {
    if (this.#readyState !== OPEN) return;
    const delay = RETRY_DELAYS_MS[this.#failedTries];
    if (delay === undefined) {
      this.#lost();
      return;
    }
    this.#failedTries++;
    this.#retryTimer = this.#timers.setTimeout(() => {
      this.#retryTimer = null;
      if (this.#readyState === OPEN) void this.#post();
    }, delay);
  }

  #sendHeaders(session: Session): Record<string, string> {
    return { 'Content-Type': 'application/json', 'X-Channels-Connection': session.connection, 'X-Channels-Token': session.token };
  }

  // ---- the end ----

  /** Refused or lost: 1006, as a browser reports a handshake refused or a line dropped. */
  #lost(): void {
    if (this.#readyState === CLOSED) return;
    this.#end();
    this.#reportClose(ABNORMAL, '', true);
  }

  /** Closed from here on: stops the stream and the retries; what waited to go out is dropped. */
  #end(): void {
    this.#readyState = CLOSED;
    this.#stream.abort();
    if (this.#retryTimer !== null) this.#timers.clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
    this.#unacknowledged.length = 0;
  }

  #reportClose(code: number, reason: string, failed: boolean): void {
    if (failed) this.#call(this.onerror, undefined as never);
    this.#call(this.onclose, { code, reason });
  }

  /** Calls a handler as a browser calls an event handler: what it throws does not stop this socket. */
  #call<E>(handler: ((event: E) => void) | null, event: E): void {
    if (handler === null) return;
    try {
      handler(event);
    } catch (error) {
      reportLater(error);
    }
  }
}

/**
 * Makes a {@link FallbackSocket} to the URL a WebSocket would open; with the options bound, a
 * `WebSocketFactory`: `createFallback: (url) => fallbackSocket(url, { fetch: myFetch })`.
 */
export function fallbackSocket(url: string, options?: FallbackSocketOptions): FallbackSocket {
  return new FallbackSocket(url, options);
}

function parseSession(data: string): Session | null {
  const body = parseJson(data);
  if (!isRecord(body) || typeof body.connection !== 'string' || typeof body.token !== 'string') return null;
  const pingMs = typeof body.ping_ms === 'number' && body.ping_ms > 0 ? body.ping_ms : DEFAULT_PING_MS;
  return { connection: body.connection, token: body.token, pingMs };
}

function parseClose(data: string): { code: number; reason: string } {
  const body = parseJson(data);
  if (!isRecord(body) || typeof body.code !== 'number') return { code: ABNORMAL, reason: '' };
  return { code: body.code, reason: typeof body.reason === 'string' ? body.reason : '' };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function isEventStream(contentType: string | null): boolean {
  return contentType !== null && contentType.split(';')[0]!.trim().toLowerCase() === 'text/event-stream';
}

/** Lets go of a body not read, so the connection under it is free again. */
function discardBody(response: Response): void {
  response.body?.cancel().catch(() => {});
}

/** UTF-8 bytes of `text`, without encoding it (a lone surrogate counts as the 3 bytes of U+FFFD). */
function utf8Length(text: string): number {
  let bytes = 0;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff && index + 1 < text.length) {
      const next = text.charCodeAt(index + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        index++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}

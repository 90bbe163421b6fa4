import type { FetchLike, Timers, WebSocketLike } from './platform';

/** Timers that run only when the test advances the clock. (Test support; not in the build.) */
export class FakeTimers implements Timers {
  now = 1_000_000;
  #next = 1;
  readonly #pending = new Map<number, { at: number; callback: () => void }>();

  setTimeout = (callback: () => void, ms: number): number => {
    const id = this.#next++;
    this.#pending.set(id, { at: this.now + ms, callback });
    return id;
  };

  clearTimeout = (handle: unknown): void => {
    this.#pending.delete(handle as number);
  };

  get pending(): number {
    return this.#pending.size;
  }

  advance(ms: number): void {
    const until = this.now + ms;
    for (;;) {
      const due = [...this.#pending.entries()].filter(([, timer]) => timer.at <= until).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.#pending.delete(due[0]);
      this.now = due[1].at;
      due[1].callback();
    }
    this.now = until;
  }
}

/** A socket whose server side the test plays. */
export class FakeSocket implements WebSocketLike {
  readyState = 0;
  readonly sent: string[] = [];
  closedWith: number | null = null;
  onopen: ((event: never) => void) | null = null;
  onmessage: ((event: { readonly data: unknown }) => void) | null = null;
  onclose: ((event: { readonly code: number; readonly reason?: string }) => void) | null = null;
  onerror: ((event: never) => void) | null = null;

  constructor(readonly url: string) {}

  send(data: string): void {
    this.sent.push(data);
  }
  close(code = 1000): void {
    this.closedWith = code;
    this.readyState = 3;
  }
  /** The frames sent, parsed. */
  get sentFrames(): Array<Record<string, unknown>> {
    return this.sent.map((text) => JSON.parse(text) as Record<string, unknown>);
  }
  // The server's side:
  open(): void {
    this.readyState = 1;
    this.onopen?.(undefined as never);
  }
  receive(frame: object): void {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }
  drop(code: number, reason?: string): void {
    this.readyState = 3;
    this.onclose?.({ code, ...(reason === undefined ? {} : { reason }) });
  }
}

/** A socket factory that remembers every socket it made. */
export function socketFactory(): { sockets: FakeSocket[]; create: (url: string) => FakeSocket; readonly last: FakeSocket } {
  const sockets: FakeSocket[] = [];
  return {
    sockets,
    create: (url) => {
      const socket = new FakeSocket(url);
      sockets.push(socket);
      return socket;
    },
    get last() {
      const socket = sockets.at(-1);
      if (!socket) throw new Error('no socket made yet');
      return socket;
    },
  };
}

/** One request a {@link FakeFetch} holds until the test answers it. */
export interface FakeRequest {
  readonly url: string;
  readonly init: RequestInit;
  /** The body, parsed as JSON. */
  readonly body: Record<string, unknown>;
  /** The request's headers, by lower-case name. */
  readonly headers: Record<string, string>;
  /** Answers with `status`, `headers` and `body`. */
  respond(status: number, headers?: Record<string, string>, body?: string | null): void;
  /** Answers 200 with an event stream the test writes to. */
  stream(): EventStreamWriter;
  /** Fails as a network error does (a `TypeError`). */
  fail(): void;
  /** Whether it was answered (or failed, or aborted). */
  readonly settled: boolean;
}

/** The server's end of an event stream a {@link FakeFetch} answered with. */
export interface EventStreamWriter {
  /** Sends text (any part of an event: the test splits as it likes). */
  write(text: string): void;
  /** Ends the stream as a server does that closes the response. */
  end(): void;
  /** Whether the client aborted the request that reads it. */
  readonly aborted: boolean;
}

/** A `fetch` whose server the test plays: every call waits in `requests` until answered. */
export class FakeFetch {
  readonly requests: FakeRequest[] = [];

  fetch: FetchLike = (url, init) =>
    new Promise<Response>((resolve, reject) => {
      let settled = false;
      const signal = init.signal ?? null;
      const settle = (answer: () => void): void => {
        if (settled) return;
        settled = true;
        answer();
      };
      signal?.addEventListener('abort', () => settle(() => reject(new DOMException('aborted', 'AbortError'))));
      const headers: Record<string, string> = {};
      new Headers(init.headers).forEach((value, name) => {
        headers[name] = value;
      });
      this.requests.push({
        url,
        init,
        headers,
        body: JSON.parse(typeof init.body === 'string' ? init.body : 'null') as Record<string, unknown>,
        respond: (status, responseHeaders = {}, body = null) => settle(() => resolve(new Response(body, { status, headers: responseHeaders }))),
        stream: () => {
          let controller!: ReadableStreamDefaultController<Uint8Array>;
          let open = true;
          const body = new ReadableStream<Uint8Array>({ start: (given) => (controller = given) });
          signal?.addEventListener('abort', () => {
            if (open) controller.error(new DOMException('aborted', 'AbortError'));
            open = false;
          });
          settle(() => resolve(new Response(body, { status: 200, headers: { 'Content-Type': 'text/event-stream; charset=utf-8' } })));
          return {
            write: (text) => {
              if (open) controller.enqueue(new TextEncoder().encode(text));
            },
            end: () => {
              if (open) controller.close();
              open = false;
            },
            get aborted() {
              return signal?.aborted ?? false;
            },
          };
        },
        fail: () => settle(() => reject(new TypeError('fetch failed'))),
        get settled() {
          return settled;
        },
      });
    });

  /** The requests whose URL asks for `_channels=<kind>` (sse, send, probe). */
  to(kind: string): FakeRequest[] {
    return this.requests.filter((request) => new URL(request.url).searchParams.get('_channels') === kind);
  }

  /** The latest request for `_channels=<kind>`; throws when there is none. */
  last(kind: string): FakeRequest {
    const request = this.to(kind).at(-1);
    if (!request) throw new Error(`no ${kind} request made`);
    return request;
  }
}

/** Lets every promise and stream read that can settle now settle. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

import type { Timers, WebSocketLike } from './platform';

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

import { type NotificationFrame, parseServerFrame } from '../chat/protocol';
import { type Backoff, exponentialBackoff } from './backoff';
import { Heartbeat } from './heartbeat';
import { browserSocket, globalTimers, type Timers, type WebSocketFactory, type WebSocketLike } from './platform';

/** A notification as shown: the frame, and a key to dismiss it by. */
export interface ShownNotification extends NotificationFrame {
  readonly key: number;
}

export interface NotificationClientOptions {
  /** The socket URL, such as `ws://localhost:3000/ws/notifications/` (a function: read when connecting). */
  readonly url: string | (() => string);
  readonly createSocket?: WebSocketFactory;
  readonly backoff?: Backoff;
  readonly timers?: Timers;
  readonly now?: () => number;
  /** At most this many shown at once; the oldest go first (default 5). */
  readonly maxShown?: number;
}

/**
 * The person's notifications, from `/ws/notifications/`: push only, so it just stays connected
 * (reconnecting with backoff, noticing a dead line with ping) and keeps the latest few.
 */
export class NotificationClient {
  readonly #options: NotificationClientOptions;
  readonly #timers: Timers;
  readonly #backoff: Backoff;
  readonly #heartbeat: Heartbeat;
  readonly #listeners = new Set<() => void>();
  #socket: WebSocketLike | null = null;
  #shown: readonly ShownNotification[] = [];
  #nextKey = 1;
  #failures = 0;
  #retryTimer: unknown = null;
  #running = false;

  constructor(options: NotificationClientOptions) {
    this.#options = options;
    this.#timers = options.timers ?? globalTimers;
    this.#backoff = options.backoff ?? exponentialBackoff();
    this.#heartbeat = new Heartbeat(this.#timers, options.now ?? Date.now, { pingAfterMs: 25_000, pongTimeoutMs: 10_000 }, {
      ping: () => this.#socket?.send('{"type":"ping"}'),
      dead: () => this.#lost(),
    });
  }

  getSnapshot = (): readonly ShownNotification[] => this.#shown;

  subscribe = (listener: () => void): (() => void) => {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  };

  connect(): void {
    if (this.#running) return;
    this.#running = true;
    this.#open();
  }

  close(): void {
    this.#running = false;
    this.#heartbeat.stop();
    if (this.#retryTimer !== null) this.#timers.clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
    const socket = this.#socket;
    this.#socket = null;
    if (socket) {
      socket.onclose = null;
      socket.onmessage = null;
      socket.close(1000);
    }
  }

  /** Opens a new connection (the session changed, so the groups to join did). */
  reconnect(): void {
    if (!this.#running) return;
    this.close();
    this.connect();
  }

  dismiss(key: number): void {
    this.#set(this.#shown.filter((notification) => notification.key !== key));
  }

  #open(): void {
    let socket: WebSocketLike;
    try {
      const url = this.#options.url;
      socket = (this.#options.createSocket ?? browserSocket)(typeof url === 'function' ? url() : url);
    } catch {
      this.#lost();
      return;
    }
    this.#socket = socket;
    socket.onopen = () => {
      this.#failures = 0;
      this.#heartbeat.start();
    };
    socket.onmessage = (event) => {
      this.#heartbeat.heard();
      const frame = typeof event.data === 'string' ? parseServerFrame(event.data) : null;
      if (frame?.type !== 'notification') return;
      const shown = [...this.#shown, { ...frame, key: this.#nextKey++ }];
      this.#set(shown.slice(-(this.#options.maxShown ?? 5)));
    };
    socket.onclose = (event) => {
      if (this.#socket !== socket) return;
      // 1000, 1008 and 4401 (the session ended) mean "do not come back"; anything else is worth another try.
      if (event.code === 1000 || event.code === 1008 || event.code === 4401) {
        this.#socket = null;
        this.#running = false;
        this.#heartbeat.stop();
        return;
      }
      this.#lost();
    };
    socket.onerror = () => {};
  }

  #lost(): void {
    const socket = this.#socket;
    this.#socket = null;
    this.#heartbeat.stop();
    if (socket) {
      socket.onclose = null;
      try {
        socket.close(4000);
      } catch {
        // Already closing.
      }
    }
    if (!this.#running) return;
    this.#failures++;
    this.#retryTimer = this.#timers.setTimeout(() => {
      this.#retryTimer = null;
      if (this.#running) this.#open();
    }, Math.max(0, this.#backoff(this.#failures)));
  }

  #set(shown: readonly ShownNotification[]): void {
    this.#shown = shown;
    for (const listener of this.#listeners) listener();
  }
}

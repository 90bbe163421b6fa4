/** What the client needs from its surroundings, with the browser's versions as defaults. */

/** What a `WebSocket` (the browser's, or `ws` in Node) must offer the client. */
export interface WebSocketLike {
  /** 0 connecting, 1 open, 2 closing, 3 closed, as the browser numbers them. */
  readonly readyState: number;
  /** Sends a text frame. */
  send(data: string): void;
  /** Starts the closing handshake. */
  close(code?: number, reason?: string): void;
  /** The handshake completed. */
  onopen: ((event: never) => void) | null;
  /** A frame arrived; `data` is a string for text frames. */
  onmessage: ((event: { readonly data: unknown }) => void) | null;
  /** The socket closed, with the peer's code and reason (1006 and no reason when it was lost). */
  onclose: ((event: { readonly code: number; readonly reason?: string }) => void) | null;
  /** Something failed; `onclose` follows. */
  onerror: ((event: never) => void) | null;
}

/** Makes a socket to `url`: the global `WebSocket` by default, `ws` in Node. */
export type WebSocketFactory = (url: string) => WebSocketLike;

/** Timers the client sets, injectable so tests move time themselves. */
export interface Timers {
  /** As the global `setTimeout`; the handle is whatever `clearTimeout` takes. */
  setTimeout(callback: () => void, ms: number): unknown;
  /** As the global `clearTimeout`. */
  clearTimeout(handle: unknown): void;
}

/**
 * What the client needs of `fetch`: the global one by default, a fake in tests. The
 * `fallbackSocket` transport and the `probeUpgrade` probe use it.
 */
export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

/**
 * The global `fetch`, looked up at each call (a page may wrap it later) and called as a plain
 * function, which browsers require.
 */
export const globalFetch: FetchLike = (url, init) => {
  if (typeof globalThis.fetch !== 'function') return Promise.reject(new TypeError('no global fetch here: pass fetch'));
  return globalThis.fetch(url, init);
};

/** Browser signals that make a reconnect worth trying at once; returns an unsubscribe. */
export type WakeUpSignals = (wake: (reason: 'online' | 'visible') => void) => () => void;

/** The global `setTimeout` and `clearTimeout`. */
export const globalTimers: Timers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** The global `WebSocket` (browsers, Node 22 and later); throws where there is none. */
export function browserSocket(url: string): WebSocketLike {
  if (typeof WebSocket === 'undefined') throw new Error('no global WebSocket here: pass createSocket');
  return new WebSocket(url) as unknown as WebSocketLike;
}

/** The browser's `online` event, and the page becoming visible again; nothing outside a browser. */
export const browserWakeUpSignals: WakeUpSignals = (wake) => {
  if (typeof window === 'undefined' || typeof document === 'undefined') return () => {};
  const online = (): void => wake('online');
  const visible = (): void => {
    if (document.visibilityState === 'visible') wake('visible');
  };
  window.addEventListener('online', online);
  document.addEventListener('visibilitychange', visible);
  return () => {
    window.removeEventListener('online', online);
    document.removeEventListener('visibilitychange', visible);
  };
};

/**
 * The WebSocket URL of `path` on the page's own host (`wss:` on an https page): what a path
 * given to `ChannelSocket` becomes. An absolute `ws:`/`wss:` URL is returned as it is.
 */
export function socketUrl(path: string, location: Pick<Location, 'protocol' | 'host'> | null = pageLocation()): string {
  if (/^wss?:\/\//i.test(path)) return path;
  if (!location) throw new Error(`a socket path (${path}) needs a page to resolve against: pass a ws:// URL`);
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${path.startsWith('/') ? '' : '/'}${path}`;
}

function pageLocation(): Pick<Location, 'protocol' | 'host'> | null {
  return typeof window === 'undefined' ? null : window.location;
}

/**
 * Reports an error thrown by a listener without stopping the caller: the global `reportError`
 * where there is one (browsers), else thrown again a moment later, as an uncaught error.
 */
export function reportLater(error: unknown): void {
  if (typeof globalThis.reportError === 'function') {
    globalThis.reportError(error);
    return;
  }
  queueMicrotask(() => {
    throw error;
  });
}

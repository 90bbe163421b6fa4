/** What the client needs from its surroundings, with the browser's versions as defaults. */

/** What a `WebSocket` (the browser's, or `ws` in Node) must offer the client. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: never) => void) | null;
  onmessage: ((event: { readonly data: unknown }) => void) | null;
  onclose: ((event: { readonly code: number }) => void) | null;
  onerror: ((event: never) => void) | null;
}

export type WebSocketFactory = (url: string) => WebSocketLike;

export interface Timers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Browser signals that make a reconnect worth trying at once; returns an unsubscribe. */
export type WakeUpSignals = (wake: (reason: 'online' | 'visible') => void) => () => void;

export const globalTimers: Timers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export function browserSocket(url: string): WebSocketLike {
  if (typeof WebSocket === 'undefined') throw new Error('no global WebSocket here: pass createSocket');
  return new WebSocket(url) as unknown as WebSocketLike;
}

/** The browser's `online` event, and the page becoming visible again. */
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

export function randomClientId(): string {
  return globalThis.crypto.randomUUID();
}

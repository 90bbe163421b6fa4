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

/** Where unacknowledged messages are kept, so they survive a reload of the page. */
export interface OutboxStorage {
  load(room: string): readonly { readonly clientId: string; readonly text: string }[];
  save(room: string, pending: readonly { readonly clientId: string; readonly text: string }[]): void;
}

/**
 * The tab's sessionStorage: a reload keeps what was typed and not yet acknowledged (and the
 * server stores each client_id once, so sending it again is safe); other tabs have their own.
 */
export const browserOutboxStorage: OutboxStorage = {
  load(room) {
    try {
      const raw = globalThis.sessionStorage?.getItem(`chat-outbox:${room}`);
      const value: unknown = raw ? JSON.parse(raw) : [];
      return Array.isArray(value)
        ? value.filter((entry): entry is { clientId: string; text: string } => typeof entry?.clientId === 'string' && typeof entry?.text === 'string')
        : [];
    } catch {
      return [];
    }
  },
  save(room, pending) {
    try {
      const key = `chat-outbox:${room}`;
      if (pending.length === 0) globalThis.sessionStorage?.removeItem(key);
      else globalThis.sessionStorage?.setItem(key, JSON.stringify(pending.map(({ clientId, text }) => ({ clientId, text }))));
    } catch {
      // Storage full or blocked: the outbox still works for this page's life.
    }
  },
};

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

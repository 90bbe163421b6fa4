/** What the chat's client keeps in the browser: the outbox's storage, and new client ids. */

/** An unacknowledged message as kept: its key, its text, and the message it answers, if any. */
export interface KeptMessage {
  readonly clientId: string;
  readonly text: string;
  readonly replyTo?: string;
}

/** Where unacknowledged messages are kept, so they survive a reload of the page. */
export interface OutboxStorage {
  load(room: string): readonly KeptMessage[];
  save(room: string, pending: readonly KeptMessage[]): void;
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
        ? value
            .filter((entry): entry is KeptMessage => typeof entry?.clientId === 'string' && typeof entry?.text === 'string')
            .map(({ clientId, text, replyTo }) => (typeof replyTo === 'string' ? { clientId, text, replyTo } : { clientId, text }))
        : [];
    } catch {
      return [];
    }
  },
  save(room, pending) {
    try {
      const key = `chat-outbox:${room}`;
      if (pending.length === 0) globalThis.sessionStorage?.removeItem(key);
      else globalThis.sessionStorage?.setItem(key, JSON.stringify(pending.map(({ clientId, text, replyTo }) => ({ clientId, text, replyTo }))));
    } catch {
      // Storage full or blocked: the outbox still works for this page's life.
    }
  },
};

export function randomClientId(): string {
  return globalThis.crypto.randomUUID();
}

import { MemoryDirectory } from './memory-directory';
import { messageTokens, queryParts, tokensMatch } from '../search-text';
import type { MessagePage, MessageStore, NewMessage, SearchCursor, SearchHit, SearchOptions, StoredMessage } from './types';

/** Keeps messages in this process only: for tests, and until a durable store is configured. */
export class MemoryMessageStore implements MessageStore {
  readonly #rooms = new Map<string, StoredMessage[]>();
  readonly #byClientId = new Map<string, StoredMessage>();
  /** session id → when its record expires */
  readonly #revoked = new Map<string, number>();
  readonly #now: () => number;

  readonly directory: MemoryDirectory;

  constructor(options: { now?: () => number } = {}) {
    this.#now = options.now ?? Date.now;
    this.directory = new MemoryDirectory((room) => this.#rooms.get(room) ?? [], this.#now);
  }

  async append(input: NewMessage): Promise<{ message: StoredMessage; created: boolean }> {
    const key = input.clientId === undefined ? null : JSON.stringify([input.room, input.userId, input.clientId]);
    const earlier = key === null ? undefined : this.#byClientId.get(key);
    if (earlier) return { message: earlier, created: false };
    let room = this.#rooms.get(input.room);
    if (!room) {
      room = [];
      this.#rooms.set(input.room, room);
    }
    const message: StoredMessage = {
      id: String(room.length + 1),
      room: input.room,
      userId: input.userId,
      user: input.user,
      text: input.text,
      ts: this.#now(),
      ...(input.clientId === undefined ? {} : { clientId: input.clientId }),
    };
    room.push(message);
    if (key !== null) this.#byClientId.set(key, message);
    return { message, created: true };
  }

  async latest(room: string, limit: number): Promise<MessagePage> {
    const messages = this.#rooms.get(room) ?? [];
    return page(messages, messages.length, limit);
  }

  async before(room: string, id: string, limit: number): Promise<MessagePage> {
    const messages = this.#rooms.get(room) ?? [];
    // Ids are 1, 2, 3... in this store, so message n sits at index n - 1.
    const end = Math.min(Math.max(Number(id) - 1, 0), messages.length);
    return page(messages, end, limit);
  }

  async after(room: string, id: string, limit: number): Promise<readonly StoredMessage[] | null> {
    const messages = this.#rooms.get(room) ?? [];
    const start = Number(id);
    if (start > messages.length) return null;
    return messages.slice(start, start + limit);
  }

  /** A scan of every message of `rooms`, with the tokenizer the other stores index with. */
  async search(rooms: readonly string[], query: string, options: SearchOptions): Promise<SearchHit[]> {
    const parts = queryParts(query);
    if (parts.length === 0 || options.limit <= 0) return [];
    const hits: StoredMessage[] = [];
    for (const room of new Set(rooms)) {
      for (const message of this.#rooms.get(room) ?? []) {
        if (options.before !== undefined && !olderThan(message, options.before)) continue;
        if (tokensMatch(messageTokens(message.text), parts)) hits.push(message);
      }
    }
    hits.sort((a, b) => (olderThan(a, b) ? 1 : olderThan(b, a) ? -1 : 0));
    return hits.slice(0, options.limit).map((message) => ({ room: message.room, message }));
  }

  async revokeSession(id: string, expiresAt: number): Promise<void> {
    this.#revoked.set(id, Math.max(expiresAt, this.#revoked.get(id) ?? 0));
  }

  async isSessionRevoked(id: string): Promise<boolean> {
    return (this.#revoked.get(id) ?? 0) > this.#now();
  }

  async heads(rooms: readonly string[]): Promise<ReadonlyMap<string, string>> {
    const heads = new Map<string, string>();
    for (const room of rooms) {
      const count = this.#rooms.get(room)?.length ?? 0;
      if (count > 0) heads.set(room, String(count));
    }
    return heads;
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {}
}

/** Whether `message` comes after `cursor` in search order: (ts, room, id) descending. */
function olderThan(message: StoredMessage, cursor: SearchCursor): boolean {
  if (message.ts !== cursor.ts) return message.ts < cursor.ts;
  if (message.room !== cursor.room) return message.room < cursor.room;
  return Number(message.id) < Number(cursor.id);
}

function page(messages: readonly StoredMessage[], end: number, limit: number): MessagePage {
  const start = Math.max(0, end - limit);
  return { messages: messages.slice(start, end), hasMore: start > 0 };
}

import { aggregateReactions, quoteOf } from './events';
import { MemoryDirectory } from './memory-directory';
import { messageTokens, queryParts, tokensMatch } from '../search-text';
import {
  type DeleteInput,
  type EditInput,
  type EventResult,
  type LogEntry,
  MAX_EMOJI_PER_MESSAGE,
  type MessagePage,
  type MessageStore,
  type NewMessage,
  type SearchCursor,
  type SearchHit,
  type SearchOptions,
  type ReactInput,
  type StoredEvent,
  type StoredMessage,
} from './types';

/** A message as this store keeps it: its current state, mutable. */
interface MessageRecord {
  readonly kind: 'message';
  readonly id: string;
  readonly room: string;
  readonly userId: string;
  readonly user: string;
  text: string;
  readonly ts: number;
  readonly clientId?: string;
  readonly replyTo?: string;
  editedAt?: number;
  deleted?: true;
  /** One row per person and emoji, in the order they were put on. */
  reactions: { emoji: string; userId: string }[];
}

/** An event as this store keeps it (an edit's text is wiped when its target is deleted). */
type EventRecord = { -readonly [K in keyof StoredEvent]: StoredEvent[K] };

type Entry = MessageRecord | EventRecord;

/** Keeps messages in this process only: for tests, and until a durable store is configured. */
export class MemoryMessageStore implements MessageStore {
  /** Each room's log, entry n at index n - 1. */
  readonly #rooms = new Map<string, Entry[]>();
  /** Each room's messages only, in id order (what the directory counts and lists). */
  readonly #messages = new Map<string, MessageRecord[]>();
  readonly #byClientId = new Map<string, MessageRecord>();
  /** session id → when its record expires */
  readonly #revoked = new Map<string, number>();
  readonly #now: () => number;

  readonly directory: MemoryDirectory;

  constructor(options: { now?: () => number } = {}) {
    this.#now = options.now ?? Date.now;
    this.directory = new MemoryDirectory((room) => (this.#messages.get(room) ?? []).map((record) => this.#view(record)), this.#now);
  }

  async append(input: NewMessage): Promise<{ message: StoredMessage; created: boolean }> {
    const key = input.clientId === undefined ? null : JSON.stringify([input.room, input.userId, input.clientId]);
    const earlier = key === null ? undefined : this.#byClientId.get(key);
    if (earlier) return { message: this.#view(earlier), created: false };
    const log = this.#log(input.room);
    const record: MessageRecord = {
      kind: 'message',
      id: String(log.length + 1),
      room: input.room,
      userId: input.userId,
      user: input.user,
      text: input.text,
      ts: this.#now(),
      ...(input.clientId === undefined ? {} : { clientId: input.clientId }),
      ...(input.replyTo === undefined ? {} : { replyTo: input.replyTo }),
      reactions: [],
    };
    log.push(record);
    this.#messages.get(input.room)!.push(record);
    if (key !== null) this.#byClientId.set(key, record);
    return { message: this.#view(record), created: true };
  }

  async edit(input: EditInput): Promise<EventResult> {
    const target = this.#target(input.room, input.target);
    if (target === null) return { ok: false, reason: 'not_found' };
    if (target.deleted) return { ok: false, reason: 'deleted' };
    if (target.userId !== input.userId) return { ok: false, reason: 'forbidden' };
    if (target.ts < input.editableSince) return { ok: false, reason: 'too_late' };
    const event = this.#event(input, { kind: 'edit', text: input.text });
    target.text = input.text;
    target.editedAt = event.ts;
    return { ok: true, event: { ...event } };
  }

  async remove(input: DeleteInput): Promise<EventResult> {
    const target = this.#target(input.room, input.target);
    if (target === null) return { ok: false, reason: 'not_found' };
    if (target.deleted) return { ok: false, reason: 'deleted' };
    if (input.as === 'author' && target.userId !== input.userId) return { ok: false, reason: 'forbidden' };
    const event = this.#event(input, { kind: 'delete' });
    target.text = '';
    target.deleted = true;
    target.reactions = [];
    for (const entry of this.#log(input.room)) {
      if (entry.kind === 'edit' && entry.target === input.target) entry.text = '';
    }
    return { ok: true, event: { ...event } };
  }

  async react(input: ReactInput): Promise<EventResult> {
    const target = this.#target(input.room, input.target);
    if (target === null) return { ok: false, reason: 'not_found' };
    if (target.deleted) return { ok: false, reason: 'deleted' };
    const index = target.reactions.findIndex((row) => row.emoji === input.emoji && row.userId === input.userId);
    const on = input.on ?? index < 0;
    if (on === index >= 0) return { ok: false, reason: 'unchanged' };
    if (on) {
      const emoji = new Set(target.reactions.map((row) => row.emoji));
      if (!emoji.has(input.emoji) && emoji.size >= MAX_EMOJI_PER_MESSAGE) return { ok: false, reason: 'too_many_reactions' };
      target.reactions.push({ emoji: input.emoji, userId: input.userId });
    } else {
      target.reactions.splice(index, 1);
    }
    const count = target.reactions.filter((row) => row.emoji === input.emoji).length;
    return { ok: true, event: { ...this.#event(input, { kind: 'reaction', emoji: input.emoji, on, count }) } };
  }

  async message(room: string, id: string): Promise<StoredMessage | null> {
    const target = this.#target(room, id);
    return target === null ? null : this.#view(target);
  }

  async latest(room: string, limit: number): Promise<MessagePage> {
    const messages = this.#messages.get(room) ?? [];
    return this.#page(room, messages, messages.length, limit, true);
  }

  async before(room: string, id: string, limit: number): Promise<MessagePage> {
    const messages = this.#messages.get(room) ?? [];
    let end = messages.length;
    while (end > 0 && BigInt(messages[end - 1]!.id) >= BigInt(id)) end--;
    return this.#page(room, messages, end, limit, false);
  }

  async after(room: string, id: string, limit: number): Promise<readonly LogEntry[] | null> {
    const log = this.#rooms.get(room) ?? [];
    const start = Number(id);
    if (start > log.length) return null;
    return log.slice(start, start + limit).map((entry) => (entry.kind === 'message' ? this.#view(entry) : { ...entry }));
  }

  /** A scan of every message of `rooms`, with the tokenizer the other stores index with. */
  async search(rooms: readonly string[], query: string, options: SearchOptions): Promise<SearchHit[]> {
    const parts = queryParts(query);
    if (parts.length === 0 || options.limit <= 0) return [];
    const hits: MessageRecord[] = [];
    for (const room of new Set(rooms)) {
      for (const message of this.#messages.get(room) ?? []) {
        if (message.deleted || (options.before !== undefined && !olderThan(message, options.before))) continue;
        if (tokensMatch(messageTokens(message.text), parts)) hits.push(message);
      }
    }
    hits.sort((a, b) => (olderThan(a, b) ? 1 : olderThan(b, a) ? -1 : 0));
    return hits.slice(0, options.limit).map((message) => ({ room: message.room, message: this.#view(message) }));
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

  #log(room: string): Entry[] {
    let log = this.#rooms.get(room);
    if (!log) {
      log = [];
      this.#rooms.set(room, log);
      this.#messages.set(room, []);
    }
    return log;
  }

  #target(room: string, id: string): MessageRecord | null {
    const entry = /^[1-9][0-9]{0,15}$/.test(id) ? this.#rooms.get(room)?.[Number(id) - 1] : undefined;
    return entry?.kind === 'message' ? entry : null;
  }

  #event(input: { room: string; userId: string; user: string; target: string }, fields: Pick<StoredEvent, 'kind'> & Partial<StoredEvent>): EventRecord {
    const log = this.#log(input.room);
    const event: EventRecord = {
      ...fields,
      id: String(log.length + 1),
      room: input.room,
      target: input.target,
      userId: input.userId,
      user: input.user,
      ts: this.#now(),
    };
    log.push(event);
    return event;
  }

  /** A message record as callers see it: its current state, a copy. */
  #view(record: MessageRecord): StoredMessage {
    const message: StoredMessage = {
      id: record.id,
      room: record.room,
      userId: record.userId,
      user: record.user,
      text: record.text,
      ts: record.ts,
      ...(record.clientId === undefined ? {} : { clientId: record.clientId }),
    };
    const parent = record.replyTo === undefined ? null : this.#target(record.room, record.replyTo);
    return {
      ...message,
      ...(parent === null ? {} : { replyTo: quoteOf(parent) }),
      ...(record.editedAt === undefined ? {} : { editedAt: record.editedAt }),
      ...(record.deleted ? { deleted: true } : {}),
      ...(record.reactions.length === 0 ? {} : { reactions: aggregateReactions(record.reactions) }),
    };
  }

  #page(room: string, messages: readonly MessageRecord[], end: number, limit: number, withHead: boolean): MessagePage {
    const start = Math.max(0, end - limit);
    const head = this.#rooms.get(room)?.length ?? 0;
    return {
      messages: messages.slice(start, end).map((record) => this.#view(record)),
      hasMore: start > 0,
      ...(withHead && head > 0 ? { head: String(head) } : {}),
    };
  }
}

/** Whether `message` comes after `cursor` in search order: (ts, room, id) descending. */
function olderThan(message: { readonly ts: number; readonly room: string; readonly id: string }, cursor: SearchCursor): boolean {
  if (message.ts !== cursor.ts) return message.ts < cursor.ts;
  if (message.room !== cursor.room) return message.room < cursor.room;
  return Number(message.id) < Number(cursor.id);
}

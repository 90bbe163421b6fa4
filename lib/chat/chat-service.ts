import type { ChannelLayer, Logger, SessionUser } from 'next-channels';
import { isPrivateNamespace, RoomAccess } from './access';
import type { ChatMetrics, StoreOperation } from './metrics';
import { groupSafe, notifyUser } from './notifications';
import {
  type ChatMessageFrame,
  type ErrorCode,
  type EventFrame,
  type HistoryFrame,
  mentionedNames,
  mentionKey,
  type NotificationFrame,
  type PresenceUser,
  type ReadFrame,
  type RetractFrame,
  type TypingFrame,
} from './protocol';
import { ReadPacer } from './store/read-pacer';
import { MAX_ROOM_MEMBERS } from './store/directory';
import { type EventRefusal, type EventResult, isEvent, type LogEntry, type MessageStore, type StoredEvent, type StoredMessage } from './store/types';

/** The layer events of the chat, by type: what travels from one connection to its room. */
export type ChatEvents = {
  'chat.message': { readonly frame: ChatMessageFrame };
  /** An edit, deletion or reaction, stored: sent like a message. */
  'chat.event': { readonly frame: EventFrame };
  'chat.typing': { readonly frame: TypingFrame };
  /** A member was removed from the room (or left): their connections to it close. */
  'chat.member_removed': { readonly user_id: string };
  /** A person's read marker in `room` moved to `frame.id`. */
  'chat.read': { readonly room: string; readonly frame: ReadFrame };
};

/** The channel-layer group of a room's connections. */
export function roomGroup(room: string): string {
  return `chat.${room}`;
}

/**
 * The group of one person's room connections in every room, for their read markers: a marker
 * that moves in a public room reaches that person's other tabs and devices, not the whole room.
 */
export function readerGroup(userId: string): string {
  return `chat.reader.${groupSafe(userId)}`;
}

/** Rooms whose group list is shared by their consumers (the most recently joined). */
const SHARED_GROUP_LISTS = 1_000;
const groupLists = new Map<string, readonly string[]>();

/** A room's consumers' groups: one array and one name per room, not per connection. */
export function roomGroups(room: string): readonly string[] {
  let groups = groupLists.get(room);
  if (groups === undefined) {
    groups = Object.freeze([roomGroup(room)]);
    if (groupLists.size >= SHARED_GROUP_LISTS) groupLists.delete(groupLists.keys().next().value!);
    groupLists.set(room, groups);
  }
  return groups;
}

export function messageFrame(message: StoredMessage): ChatMessageFrame {
  const frame = {
    type: 'chat.message',
    id: message.id,
    room: message.room,
    user_id: message.userId,
    user: message.user,
    message: message.text,
    ts: message.ts,
  } as const;
  if (message.clientId === undefined && message.replyTo === undefined && message.editedAt === undefined && !message.deleted && message.reactions === undefined) {
    return frame;
  }
  const reply = message.replyTo;
  return {
    ...frame,
    ...(message.clientId === undefined ? {} : { client_id: message.clientId }),
    ...(reply === undefined
      ? {}
      : { reply_to: { id: reply.id, user_id: reply.userId, user: reply.user, text: reply.text, ...(reply.deleted ? { deleted: true } : {}) } }),
    ...(message.editedAt === undefined ? {} : { edited_at: message.editedAt }),
    ...(message.deleted ? { deleted: true } : {}),
    ...(message.reactions === undefined ? {} : { reactions: message.reactions.map((r) => ({ emoji: r.emoji, count: r.count, user_ids: r.userIds })) }),
  };
}

/** An edit, deletion or reaction as it goes on the wire: no `message` field (see `EventFrame`). */
export function eventFrame(event: StoredEvent): EventFrame {
  const base = { id: event.id, room: event.room, target: event.target, user_id: event.userId, user: event.user, ts: event.ts };
  switch (event.kind) {
    case 'edit':
      return { type: 'chat.edit', ...base, text: event.text ?? '' };
    case 'delete':
      return { type: 'chat.delete', ...base };
    case 'reaction':
      return { type: 'chat.reaction', ...base, emoji: event.emoji ?? '', on: event.on ?? false, count: event.count ?? 0 };
  }
}

/** How long after sending a message its author may edit it, by default: 15 minutes. */
export const DEFAULT_EDIT_WINDOW_MS = 15 * 60_000;

/** The outcome of an edit, deletion or reaction: the event sent, or why nothing was stored. */
export type EventOutcome = { readonly ok: true; readonly frame: EventFrame } | { readonly ok: false; readonly code: ErrorCode; readonly detail: string };

const REFUSALS: Readonly<Record<EventRefusal | 'not_allowed', { code: ErrorCode; detail: string }>> = {
  not_found: { code: 'not_found', detail: 'no such message in this room' },
  forbidden: { code: 'forbidden', detail: 'only its author may change this message' },
  not_allowed: { code: 'forbidden', detail: 'you may not delete this message' },
  too_late: { code: 'too_late', detail: 'this message can no longer be edited' },
  deleted: { code: 'deleted', detail: 'this message was deleted' },
  too_many_reactions: { code: 'too_many_reactions', detail: 'this message has as many different reactions as it may' },
  unchanged: { code: 'invalid_message', detail: 'the reaction is already so' },
};

export interface PostResult {
  readonly frame: ChatMessageFrame;
  /** False when the idempotency key matched an earlier message, which was not sent again. */
  readonly created: boolean;
}

/** The people who have joined a room lately, by user id: whom a mention in it may reach. */
export type RoomParticipants = (room: string) => Promise<readonly PresenceUser[]>;

export interface ChatServiceOptions {
  readonly store: MessageStore;
  readonly layer: ChannelLayer;
  readonly logger: Logger;
  readonly metrics?: ChatMetrics;
  /** Paces store reads (default: one of its own; the app shares one per process). */
  readonly reads?: ReadPacer;
  /**
   * Who is in a room now (presence). With the room's recent authors they are whom an @mention
   * can notify; without it, only recent authors are.
   */
  readonly participants?: RoomParticipants;
  /** Who may read which room (default: one over the store's directory). */
  readonly access?: RoomAccess;
  /** How long after sending it an author may edit a message (default `DEFAULT_EDIT_WINDOW_MS`; 0: never). */
  readonly editWindowMs?: number;
  readonly now?: () => number;
}

/** A visit to a room is written again after this long at the soonest. */
const VISIT_WRITE_INTERVAL_MS = 60_000;
const MAX_VISITS_KEPT = 10_000;

/** Recent authors of a room that a mention can reach, beside the people in it now. */
const MENTION_AUTHORS_PAGE = 50;

/**
 * A history frame holds about this many bytes at most: a page of long messages (100 of 2,000
 * emoji is 800 KB) is cut short, `has_more` saying older ones exist, so that no frame costs more
 * than a few milliseconds to serialise and none comes near a client's 1 MiB send buffer.
 */
export const HISTORY_FRAME_MAX_BYTES = 256 * 1024;

/** About what a message comes to in a frame, without serialising it. */
function frameBytes(message: LogEntry): number {
  // The fields' names and punctuation, the ids and the time come to about 120 bytes; a quote
  // and reactions add at most about a kilobyte.
  const extra = isEvent(message) ? 0 : (message.replyTo ? 60 + Buffer.byteLength(message.replyTo.text) : 0) + (message.reactions ? message.reactions.length * 300 : 0);
  return 120 + Buffer.byteLength(message.text ?? '') + Buffer.byteLength(message.user) + extra;
}

/** The newest messages of `oldestFirst` that fit in a frame (at least one). */
function newestThatFit(oldestFirst: readonly StoredMessage[]): readonly StoredMessage[] {
  let bytes = 0;
  for (let index = oldestFirst.length - 1; index >= 0; index--) {
    bytes += frameBytes(oldestFirst[index]!);
    if (bytes > HISTORY_FRAME_MAX_BYTES && index < oldestFirst.length - 1) return oldestFirst.slice(index + 1);
  }
  return oldestFirst;
}

/** The oldest entries of `oldestFirst` that fit in a frame (at least one). */
function oldestThatFit(oldestFirst: readonly LogEntry[]): readonly LogEntry[] {
  let bytes = 0;
  for (let index = 0; index < oldestFirst.length; index++) {
    bytes += frameBytes(oldestFirst[index]!);
    if (bytes > HISTORY_FRAME_MAX_BYTES && index > 0) return oldestFirst.slice(0, index);
  }
  return oldestFirst;
}

/** A page of what follows an id: the frame, and whether the store may hold more after it. */
export interface PageAfter {
  readonly frame: HistoryFrame;
  /** The page was cut at `limit` or at the frame size: read on from its last message. */
  readonly more: boolean;
  /** The last id in the page (message or event), where the next page starts; absent when empty. */
  readonly last?: string;
}

/**
 * Posting and reading messages, shared by the chat consumer and the HTTP routes: a message is
 * stored first and broadcast to its room only once the store has it.
 */
export class ChatService {
  readonly #store: MessageStore;
  readonly #layer: ChannelLayer;
  readonly #logger: Logger;
  readonly #metrics: ChatMetrics | null;
  readonly #reads: ReadPacer;
  readonly #participants: RoomParticipants | null;
  /** Who may read which room: every path that reads or sends room data asks it. */
  readonly access: RoomAccess;
  /** When each person's visit to each room was last written, oldest first. */
  readonly #visits = new Map<string, number>();
  readonly #editWindowMs: number;
  readonly #now: () => number;

  constructor(options: ChatServiceOptions) {
    this.access = options.access ?? new RoomAccess(options.store.directory);
    this.#store = options.store;
    this.#layer = options.layer;
    this.#logger = options.logger;
    this.#metrics = options.metrics ?? null;
    this.#reads = options.reads ?? new ReadPacer();
    this.#participants = options.participants ?? null;
    this.#editWindowMs = options.editWindowMs ?? DEFAULT_EDIT_WINDOW_MS;
    this.#now = options.now ?? Date.now;
  }
  /** How long after sending it an author may edit a message (0: never). */
  get editWindowMs(): number {
    return Math.max(0, this.#editWindowMs);
  }


  /** Runs a store call, timed when there are metrics. */
  #timed<T>(operation: StoreOperation, work: () => Promise<T>): Promise<T> {
    return this.#metrics ? this.#metrics.timeStore(operation, work) : work();
  }

  /** Runs a store read of up to `rows` rows in its slice of the event loop (see `ReadPacer`), timed. */
  #read<T>(operation: StoreOperation, rows: number, work: () => Promise<T>): Promise<T> {
    return this.#reads.read(rows, () => this.#timed(operation, work));
  }

  /**
   * Stores a message and sends it to everyone in the room; a repeat of a `clientId` is neither
   * stored nor sent again here (see `broadcast`). The people it @mentions are notified after the
   * broadcast, apart from the post.
   */
  async post(room: string, author: SessionUser, text: string, clientId?: string, replyTo?: string): Promise<PostResult> {
    const { message, created } = await this.#timed('append', () =>
      this.#store.append({
        room,
        userId: author.id,
        user: author.name,
        text,
        ...(clientId === undefined ? {} : { clientId }),
        ...(replyTo === undefined ? {} : { replyTo }),
      }),
    );
    const frame = messageFrame(message);
    if (created) {
      this.#metrics?.stored();
      await this.broadcast(frame);
      if (mentionedNames(frame.message).length > 0) {
        this.#notifyMentions(frame).catch((error: unknown) => this.#logger.warn('could not send mention notifications', { room, error }));
      }
    }
    return { frame, created };
  }

  /** Whether `id` is a message of `room` that a reply may quote (checked before the post). */
  async canReplyTo(room: string, id: string): Promise<boolean> {
    return (await this.#timed('history', () => this.#store.message(room, id))) !== null;
  }

  /**
   * Edits `author`'s own message, within the edit window: stored first (an `edit` event with the
   * room's next id), then sent to the room. Mention notifications of the old text not yet
   * dismissed are taken back (they quote it); an edit notifies nobody new.
   */
  async edit(room: string, author: SessionUser, target: string, text: string): Promise<EventOutcome> {
    if ((await this.access.check(room, author.id)) === null) return refusal('not_found');
    const editableSince = this.#editWindowMs <= 0 ? Number.POSITIVE_INFINITY : this.#now() - this.#editWindowMs;
    const before = await this.#timed('history', () => this.#store.message(room, target));
    const outcome = await this.#settle(await this.#timed('append', () => this.#store.edit({ room, userId: author.id, user: author.name, target, text, editableSince })));
    if (outcome.ok && before !== null && mentionedNames(before.text).length > 0) {
      this.#retractMentions(messageFrame(before)).catch((error: unknown) => this.#logger.warn('could not retract mention notifications', { room, error }));
    }
    return outcome;
  }

  /**
   * Deletes a message: its author may, and so may a private room's owner; `moderator` (the admin
   * route) may delete any. The text is wiped from the store, the deletion sent to the room, and
   * the mention notifications it caused are retracted.
   */
  async remove(room: string, by: SessionUser, target: string, moderator = false): Promise<EventOutcome> {
    let as: 'author' | 'moderator' = moderator ? 'moderator' : 'author';
    if (!moderator) {
      const access = await this.access.check(room, by.id);
      if (access === null) return refusal('not_found');
      if (access.kind === 'private' && access.role === 'owner') as = 'moderator';
    }
    const before = await this.#timed('history', () => this.#store.message(room, target));
    const result = await this.#timed('append', () => this.#store.remove({ room, userId: by.id, user: by.name, target, as }));
    if (!result.ok && result.reason === 'forbidden' && !moderator) return refusal('not_allowed');
    const outcome = await this.#settle(result);
    if (outcome.ok && before !== null && mentionedNames(before.text).length > 0) {
      this.#retractMentions(messageFrame(before)).catch((error: unknown) => this.#logger.warn('could not retract mention notifications', { room, error }));
    }
    return outcome;
  }

  /** Puts on (`on`), takes off, or toggles (no `on`) a person's reaction to a message. */
  async react(room: string, by: SessionUser, target: string, emoji: string, on?: boolean): Promise<EventOutcome> {
    if ((await this.access.check(room, by.id)) === null) return refusal('not_found');
    return this.#settle(
      await this.#timed('append', () => this.#store.react({ room, userId: by.id, user: by.name, target, emoji, ...(on === undefined ? {} : { on }) })),
    );
  }

  /** A stored event goes to the room; a refusal becomes its error code. */
  async #settle(result: EventResult): Promise<EventOutcome> {
    if (!result.ok) return refusal(result.reason);
    this.#metrics?.stored();
    const frame = eventFrame(result.event);
    await this.broadcastEvent(frame);
    return { ok: true, frame };
  }

  /** Sends a stored event to everyone in its room; never rejects (see `broadcast`). */
  async broadcastEvent(frame: EventFrame): Promise<void> {
    try {
      const send = () => this.#layer.groupSend(roomGroup(frame.room), { type: 'chat.event', frame });
      await (this.#metrics ? this.#metrics.timeLayer(send) : send());
    } catch (error) {
      this.#logger.error('broadcast failed after store', { room: frame.room, id: frame.id, error });
    }
  }

  /**
   * Sends a stored message to everyone in its room. A retry that finds its message stored sends
   * it again: its first sending may never have gone out (the process that stored it died first),
   * and members drop what they were sent already. Never rejects: a message stored is
   * acknowledged, and a member that misses it fills the gap from the store (see RoomHeads).
   */
  async broadcast(frame: ChatMessageFrame): Promise<void> {
    try {
      const send = () => this.#layer.groupSend(roomGroup(frame.room), { type: 'chat.message', frame });
      await (this.#metrics ? this.#metrics.timeLayer(send) : send());
    } catch (error) {
      this.#logger.error('broadcast failed after store', { room: frame.room, id: frame.id, error });
    }
  }

  /**
   * Tells the people a message @mentions, by user id: a name is matched only against the room's
   * participants (in it now, or among its recent authors), all resolved in one step, so a
   * stranger who picked the same name hears nothing of a room they have not joined. The author
   * is never told of their own mention; at most `MAX_MENTIONS` names count.
   */
  async #notifyMentions(frame: ChatMessageFrame): Promise<void> {
    const recipients = await this.#mentioned(frame);
    if (recipients.length === 0) return;
    const where = await this.#roomLabel(frame.room);
    const notification: NotificationFrame = {
      type: 'notification',
      kind: 'mention',
      title: `${frame.user} mentioned you in ${where.label}`,
      body: [...frame.message].slice(0, 200).join(''),
      room: frame.room,
      message_id: frame.id,
      ts: frame.ts,
      // For a client to say it in its reader's language.
      from: frame.user,
      room_kind: where.kind,
      ...(where.kind === 'private' ? { room_title: where.title } : {}),
    };
    await Promise.all(recipients.map((userId) => notifyUser(this.#layer, userId, notification)));
  }

  /**
   * A deleted message's mention notifications not yet dismissed go: its mentioned people (found
   * again as when it was sent) get a retraction by message id on their notification sockets.
   */
  async #retractMentions(frame: ChatMessageFrame): Promise<void> {
    const recipients = await this.#mentioned(frame);
    const retract: RetractFrame = { type: 'notification.retract', room: frame.room, message_id: frame.id };
    await Promise.all(recipients.map((userId) => notifyUser(this.#layer, userId, retract)));
  }

  /** The people a message's @mentions reach (see `#notifyMentions`). */
  async #mentioned(frame: ChatMessageFrame): Promise<string[]> {
    const names = mentionedNames(frame.message);
    const [present, recent] = await Promise.all([
      this.#participants?.(frame.room) ?? Promise.resolve([]),
      this.#read('history', MENTION_AUTHORS_PAGE, () => this.#store.latest(frame.room, MENTION_AUTHORS_PAGE)),
    ]);
    const byName = new Map<string, Set<string>>();
    const add = (userId: string, name: string): void => {
      const key = mentionKey(name);
      let ids = byName.get(key);
      if (ids === undefined) byName.set(key, (ids = new Set()));
      ids.add(userId);
    };
    for (const person of present) add(person.user_id, person.user);
    for (const message of recent.messages) add(message.userId, message.user);
    const named = new Set<string>();
    for (const name of names) {
      for (const userId of byName.get(mentionKey(name)) ?? []) {
        if (userId !== frame.user_id) named.add(userId);
      }
    }
    if (named.size === 0) return [];
    // Someone removed from a private room is still among its recent authors: they hear nothing of it.
    return this.access.readers(frame.room, [...named]);
  }

  /** How a notification names a room: `#name`, a private room's title, or "a direct message". */
  async #roomLabel(room: string): Promise<{ kind: 'public' | 'private' | 'direct'; title: string; label: string }> {
    const kind = await this.access.kind(room);
    if (kind === 'direct') return { kind, title: '', label: 'a direct message' };
    if (kind === 'private') {
      const title = (await this.#store.directory.room(room))?.title ?? room;
      return { kind, title, label: `"${title}"` };
    }
    return { kind: 'public', title: room, label: `#${room}` };
  }

  /**
   * Someone opened a public room: it goes to the top of their room list. Written at most once a
   * minute per person and room by this process: a reconnect storm is not a storm of writes.
   */
  async visit(room: string, user: SessionUser): Promise<void> {
    const key = `${user.id} ${room}`;
    const now = Date.now();
    if (now - (this.#visits.get(key) ?? -Infinity) < VISIT_WRITE_INTERVAL_MS) return;
    if (this.#visits.size >= MAX_VISITS_KEPT) this.#visits.delete(this.#visits.keys().next().value!);
    this.#visits.set(key, now);
    if ((await this.access.kind(room)) === 'public') await this.#store.directory.recordVisit(room, user.id, user.name, now);
  }

  /**
   * Moves a person's read marker in a room forward to `id`; when it moved, tells their
   * connections to the room (every process) and, in a private room or direct message, the other
   * members' too ("seen").
   */
  async markRead(room: string, userId: string, id: string): Promise<void> {
    if (!(await this.#store.directory.markRead(room, userId, id))) return;
    const event = { type: 'chat.read', room, frame: { type: 'read', user_id: userId, id } } as const;
    await (isPrivateNamespace(room) ? this.#layer.groupSend(roomGroup(room), event) : this.#layer.groupSend(readerGroup(userId), event));
  }

  /**
   * The read markers a connection to `room` is told on joining: the person's own, and in a
   * private room or direct message every member's.
   */
  async readMarkers(room: string, userId: string): Promise<ReadFrame[]> {
    const directory = this.#store.directory;
    const members = isPrivateNamespace(room) ? await directory.members(room, MAX_ROOM_MEMBERS) : [await directory.member(room, userId)];
    const frames: ReadFrame[] = [];
    for (const member of members) {
      if (member?.lastReadId != null) frames.push({ type: 'read', user_id: member.userId, id: member.lastReadId });
    }
    return frames;
  }

  /**
   * A page of history: the newest `limit` messages, or the `limit` before `before`, cut to the
   * newest that fit in `HISTORY_FRAME_MAX_BYTES` (`has_more` then says older ones exist).
   */
  async history(room: string, limit: number, before?: string): Promise<HistoryFrame> {
    const page = await this.#read('history', limit, () => (before === undefined ? this.#store.latest(room, limit) : this.#store.before(room, before, limit)));
    const messages = newestThatFit(page.messages);
    const frame: HistoryFrame = { type: 'history', messages: messages.map(messageFrame), has_more: page.hasMore || messages.length < page.messages.length };
    return page.head === undefined ? frame : { ...frame, head: page.head };
  }

  /**
   * The first `limit` messages after `after`, oldest first, cut to those that fit in
   * `HISTORY_FRAME_MAX_BYTES`, as a history frame (`has_more`: older messages exist, at least
   * the one it starts after); `null` when the room never reached `after` (the store was reset).
   * A catch-up reads page after page with it, sending each before reading the next.
   */
  async after(room: string, after: string, limit: number): Promise<PageAfter | null> {
    const page = await this.#read('since', limit, () => this.#store.after(room, after, limit));
    if (page === null) return null;
    const entries = oldestThatFit(page);
    const messages: ChatMessageFrame[] = [];
    const events: EventFrame[] = [];
    for (const entry of entries) {
      if (isEvent(entry)) events.push(eventFrame(entry));
      else messages.push(messageFrame(entry));
    }
    const frame: HistoryFrame = events.length === 0 ? { type: 'history', messages, has_more: true } : { type: 'history', messages, events, has_more: true };
    const last = entries.at(-1)?.id;
    return { frame, more: entries.length < page.length || page.length >= limit, ...(last === undefined ? {} : { last }) };
  }
}

function refusal(reason: EventRefusal | 'not_allowed'): EventOutcome {
  return { ok: false, ...REFUSALS[reason] };
}

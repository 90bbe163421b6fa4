import type { ChannelLayer, Logger, SessionUser } from 'next-channels';
import { RoomAccess } from './access';
import type { ChatMetrics, StoreOperation } from './metrics';
import { notifyUser } from './notifications';
import {
  type ChatMessageFrame,
  type HistoryFrame,
  mentionedNames,
  mentionKey,
  type NotificationFrame,
  type PresenceUser,
  type TypingFrame,
} from './protocol';
import { ReadPacer } from './store/read-pacer';
import type { MessageStore, StoredMessage } from './store/types';

/** The layer events of the chat, by type: what travels from one connection to its room. */
export type ChatEvents = {
  'chat.message': { readonly frame: ChatMessageFrame };
  'chat.typing': { readonly frame: TypingFrame };
  /** A member was removed from the room (or left): their connections to it close. */
  'chat.member_removed': { readonly user_id: string };
};

/** The channel-layer group of a room's connections. */
export function roomGroup(room: string): string {
  return `chat.${room}`;
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
  return message.clientId === undefined ? frame : { ...frame, client_id: message.clientId };
}

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
function frameBytes(message: StoredMessage): number {
  // The fields' names and punctuation, the ids and the time come to about 120 bytes.
  return 120 + Buffer.byteLength(message.text) + Buffer.byteLength(message.user);
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

/** The oldest messages of `oldestFirst` that fit in a frame (at least one). */
function oldestThatFit(oldestFirst: readonly StoredMessage[]): readonly StoredMessage[] {
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

  constructor(options: ChatServiceOptions) {
    this.access = options.access ?? new RoomAccess(options.store.directory);
    this.#store = options.store;
    this.#layer = options.layer;
    this.#logger = options.logger;
    this.#metrics = options.metrics ?? null;
    this.#reads = options.reads ?? new ReadPacer();
    this.#participants = options.participants ?? null;
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
  async post(room: string, author: SessionUser, text: string, clientId?: string): Promise<PostResult> {
    const { message, created } = await this.#timed('append', () =>
      this.#store.append({
        room,
        userId: author.id,
        user: author.name,
        text,
        ...(clientId === undefined ? {} : { clientId }),
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
    if (named.size === 0) return;
    // Someone removed from a private room is still among its recent authors: they hear nothing of it.
    const recipients = await this.access.readers(frame.room, [...named]);
    if (recipients.length === 0) return;
    const notification: NotificationFrame = {
      type: 'notification',
      kind: 'mention',
      title: `${frame.user} mentioned you in ${await this.#roomLabel(frame.room)}`,
      body: [...frame.message].slice(0, 200).join(''),
      room: frame.room,
      message_id: frame.id,
      ts: frame.ts,
    };
    await Promise.all(recipients.map((userId) => notifyUser(this.#layer, userId, notification)));
  }

  /** How a notification names a room: `#name`, a private room's title, or "a direct message". */
  async #roomLabel(room: string): Promise<string> {
    const kind = await this.access.kind(room);
    if (kind === 'direct') return 'a direct message';
    if (kind === 'private') return `"${(await this.#store.directory.room(room))?.title ?? room}"`;
    return `#${room}`;
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

  /** Moves a person's read marker in a room forward to `id`. */
  markRead(room: string, userId: string, id: string): Promise<void> {
    return this.#store.directory.markRead(room, userId, id);
  }

  /**
   * A page of history: the newest `limit` messages, or the `limit` before `before`, cut to the
   * newest that fit in `HISTORY_FRAME_MAX_BYTES` (`has_more` then says older ones exist).
   */
  async history(room: string, limit: number, before?: string): Promise<HistoryFrame> {
    const page = await this.#read('history', limit, () => (before === undefined ? this.#store.latest(room, limit) : this.#store.before(room, before, limit)));
    const messages = newestThatFit(page.messages);
    return { type: 'history', messages: messages.map(messageFrame), has_more: page.hasMore || messages.length < page.messages.length };
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
    const messages = oldestThatFit(page);
    return { frame: { type: 'history', messages: messages.map(messageFrame), has_more: true }, more: messages.length < page.length || page.length >= limit };
  }
}

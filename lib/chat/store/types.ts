import type { SessionRevocations } from 'next-channels';
import type { Directory } from './directory';

/** A message as the store keeps it. */
export interface StoredMessage {
  /** A positive decimal integer, increasing within the room. */
  readonly id: string;
  readonly room: string;
  readonly userId: string;
  readonly user: string;
  readonly text: string;
  /** Milliseconds since the epoch, set by the store. */
  readonly ts: number;
  readonly clientId?: string;
  /** The message it answers, quoted as it reads now. */
  readonly replyTo?: ReplyQuote;
  /** When its text was last edited (ms since the epoch); absent when never edited. */
  readonly editedAt?: number;
  /** Deleted: `text` is '' (the store holds the text no more), a tombstone. */
  readonly deleted?: true;
  /** Reactions by emoji, in the order each emoji first came; absent when none. */
  readonly reactions?: readonly ReactionCount[];
}

/** How a reply quotes its parent: a short snippet of its text now ('' once it is deleted). */
export interface ReplyQuote {
  readonly id: string;
  readonly userId: string;
  readonly user: string;
  /** At most `REPLY_SNIPPET_CHARS` code points of the parent's current text; '' when deleted. */
  readonly text: string;
  readonly deleted?: true;
}

/** One emoji's reactions to a message: how many people, and the first `MAX_REACTORS_LISTED` of them. */
export interface ReactionCount {
  readonly emoji: string;
  readonly count: number;
  readonly userIds: readonly string[];
}

/** A quote of a parent is cut to this many code points. */
export const REPLY_SNIPPET_CHARS = 100;
/** People listed per emoji in a page's reactions (`count` counts them all). */
export const MAX_REACTORS_LISTED = 20;
/** Different emoji on one message; a reaction with a new emoji past this is refused. */
export const MAX_EMOJI_PER_MESSAGE = 20;

/**
 * An event of a room's log other than a message: it takes the room's next id like a message, so
 * resume, `DeliveredIds` and the room heads see one sequence. `target` is the message it is about.
 */
export interface StoredEvent {
  readonly kind: 'edit' | 'delete' | 'reaction';
  readonly id: string;
  readonly room: string;
  readonly target: string;
  /** Who did it (the author for an edit; the author, the room's owner or `system` for a deletion). */
  readonly userId: string;
  readonly user: string;
  readonly ts: number;
  /** An edit's new text ('' once its target is deleted). */
  readonly text?: string;
  /** A reaction's emoji, whether it was put on or taken off, and how many now have it. */
  readonly emoji?: string;
  readonly on?: boolean;
  readonly count?: number;
}

/** One entry of a room's log, in id order: a message (in its current state) or an event. */
export type LogEntry = StoredMessage | StoredEvent;

/** Whether a log entry is an event (edit, delete, reaction) rather than a message. */
export function isEvent(entry: LogEntry): entry is StoredEvent {
  return 'kind' in entry;
}

/** Why an edit, deletion or reaction was not stored. */
export type EventRefusal = 'not_found' | 'forbidden' | 'too_late' | 'deleted' | 'too_many_reactions' | 'unchanged';

export type EventResult = { readonly ok: true; readonly event: StoredEvent } | { readonly ok: false; readonly reason: EventRefusal };

export interface EditInput {
  readonly room: string;
  /** Only the author may edit. */
  readonly userId: string;
  readonly user: string;
  readonly target: string;
  readonly text: string;
  /** A message sent before this time (ms since the epoch) may no longer be edited: `too_late`. */
  readonly editableSince: number;
}

export interface DeleteInput {
  readonly room: string;
  readonly userId: string;
  readonly user: string;
  readonly target: string;
  /** `author`: only the author's own message; `moderator`: any (a private room's owner, an admin). */
  readonly as: 'author' | 'moderator';
}

export interface ReactInput {
  readonly room: string;
  readonly userId: string;
  readonly user: string;
  readonly target: string;
  readonly emoji: string;
  /** Put on (true) or take off (false); absent: toggle. `unchanged` when it is so already. */
  readonly on?: boolean;
}

export interface NewMessage {
  readonly room: string;
  readonly userId: string;
  readonly user: string;
  readonly text: string;
  /** Idempotency key: a second append with the same (room, userId, clientId) stores nothing. */
  readonly clientId?: string;
  /** The id of a message of the same room it answers (the caller checked that it is one). */
  readonly replyTo?: string;
}

/** Oldest first, each message in its current state. */
export interface MessagePage {
  readonly messages: readonly StoredMessage[];
  /** Whether older messages exist before the first one. */
  readonly hasMore: boolean;
  /**
   * The room's newest id (of any kind) when the page was read: the page reflects every event up
   * to it (absent for an empty room, and from `before`).
   */
  readonly head?: string;
}

/**
 * Where a search page ends: results are ordered newest first by (`ts`, `room`, `id`), all three
 * descending (rooms by code units), and the next page starts after this one.
 */
export interface SearchCursor {
  readonly ts: number;
  readonly room: string;
  readonly id: string;
}

export interface SearchOptions {
  /** Hits at most. */
  readonly limit: number;
  /** Only hits older than this one (the last hit of the previous page). */
  readonly before?: SearchCursor;
}

/** A message that matched a search, with its room. */
export interface SearchHit {
  readonly room: string;
  readonly message: StoredMessage;
}

/**
 * Keeps every acknowledged message. A message is acknowledged only once `append` resolves. It
 * also keeps the ended sessions (`SessionRevocations`): the one database every process shares.
 */
/** Hears the rooms' newest ids as messages are committed, by any process of the site. */
export interface HeadListener {
  /** A message numbered `id` was committed in `room`. */
  head(room: string, id: string): void;
  /** The store stopped hearing commits (its connection broke); `missed` follows once it hears again. */
  lost?(): void;
  /** Some commits may have gone unheard (the store's connection dropped): ask `heads` again. */
  missed(): void;
}

export interface MessageStore extends SessionRevocations {
  /** Accounts, rooms, members, invitations and read markers, in the same database. */
  readonly directory: Directory;
  /** Stores a message, or finds the one stored earlier under the same idempotency key. */
  append(message: NewMessage): Promise<{ readonly message: StoredMessage; readonly created: boolean }>;
  /**
   * Edits the text of the caller's own message: a new `edit` event with the room's next id, and
   * the message's text replaced, in one transaction.
   */
  edit(input: EditInput): Promise<EventResult>;
  /**
   * Deletes a message: a `delete` event, and the text of the message and of every edit of it
   * wiped from the store ('' ), its reactions dropped, in one transaction.
   */
  remove(input: DeleteInput): Promise<EventResult>;
  /** Puts on or takes off a person's reaction: a `reaction` event when it changed anything. */
  react(input: ReactInput): Promise<EventResult>;
  /** One message in its current state; `null` when `id` is no message of the room (an event, or nothing). */
  message(room: string, id: string): Promise<StoredMessage | null>;
  /** The newest `limit` messages of a room (events folded into them). */
  latest(room: string, limit: number): Promise<MessagePage>;
  /** The `limit` messages just before `id` (events folded into them). */
  before(room: string, id: string, limit: number): Promise<MessagePage>;
  /**
   * The first `limit` entries after `id`, messages and events, oldest first; `null` when the
   * room never reached `id` (the store was reset since the client saw it).
   */
  after(room: string, id: string, limit: number): Promise<readonly LogEntry[] | null>;
  /**
   * The messages of `rooms` that match `query` (see search-text.ts: the same tokens in every
   * store), newest first, in their current state (a deleted message is found by nothing). The caller passes only rooms the person may read. A query with nothing
   * to search for (only punctuation) finds nothing.
   */
  search(rooms: readonly string[], query: string, options: SearchOptions): Promise<SearchHit[]>;
  /** The newest id (of any kind) of each of `rooms` that holds a message. */
  heads(rooms: readonly string[]): Promise<ReadonlyMap<string, string>>;
  /**
   * Tells `listener` of every message committed by any process, as it is committed: how a
   * process learns of a message whose sender died before sending it on. Only a store that several
   * processes share has it (nothing is committed unseen in a store of one process). Answers a
   * function that stops the listening.
   */
  watchHeads?(listener: HeadListener): () => void;
  /** Resolves when the store answers (readiness checks); rejects with why it does not. */
  ping(): Promise<void>;
  /** Flushes what is pending and releases the store. */
  close(): Promise<void>;
}

/**
 * The store cannot be reached (its server is away, or did not answer in time): the call was not
 * made, or its answer never came. The caller refuses what it was doing as `unavailable`; the
 * outage itself is logged once by the store.
 */
export class StoreUnavailable extends Error {
  override name = 'StoreUnavailable';
}

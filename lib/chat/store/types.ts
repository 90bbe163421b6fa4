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
}

export interface NewMessage {
  readonly room: string;
  readonly userId: string;
  readonly user: string;
  readonly text: string;
  /** Idempotency key: a second append with the same (room, userId, clientId) stores nothing. */
  readonly clientId?: string;
}

/** Oldest first. */
export interface MessagePage {
  readonly messages: readonly StoredMessage[];
  /** Whether older messages exist before the first one. */
  readonly hasMore: boolean;
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
  /** The newest `limit` messages of a room. */
  latest(room: string, limit: number): Promise<MessagePage>;
  /** The `limit` messages just before `id`. */
  before(room: string, id: string, limit: number): Promise<MessagePage>;
  /**
   * The first `limit` messages after `id`, oldest first; `null` when the room never reached `id`
   * (the store was reset since the client saw it).
   */
  after(room: string, id: string, limit: number): Promise<readonly StoredMessage[] | null>;
  /**
   * The messages of `rooms` that match `query` (see search-text.ts: the same tokens in every
   * store), newest first. The caller passes only rooms the person may read. A query with nothing
   * to search for (only punctuation) finds nothing.
   */
  search(rooms: readonly string[], query: string, options: SearchOptions): Promise<SearchHit[]>;
  /** The newest id of each of `rooms` that holds a message. */
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

import { KeyedBuckets, type RateLimit } from 'next-channels';
import type { RoomAccess } from './access';
import { codePointLength, DEFAULT_ROOM, isValidRoomName } from './protocol';
import { Refused } from './refused';
import type { Directory } from './store/directory';
import type { MessageStore, SearchCursor, SearchHit } from './store/types';

/** Characters (code points) of a query at most. */
export const MAX_SEARCH_QUERY_CHARS = 100;
/** Hits per page by default, and at most. */
export const SEARCH_PAGE_SIZE = 20;
export const MAX_SEARCH_PAGE_SIZE = 50;
/** Rooms of a person's list searched at most when no room is named (their most recently active). */
export const MAX_SEARCHED_ROOMS = 500;

/** Searches per person (default one a second, 5 at once): each is an index query over many rooms. */
export const DEFAULT_SEARCHES: RateLimit = { rate: 10, perMs: 10_000, burst: 5 };
/** Searches per client address, whoever's cookie they carry (guest sessions cost nothing to make). */
export const DEFAULT_SEARCHES_PER_ADDRESS: RateLimit = { rate: 30, perMs: 10_000, burst: 15 };

/** A search as the route received it: every field as the query string gave it, unchecked. */
export interface SearchRequest {
  readonly q: string | null;
  readonly room: string | null;
  readonly before: string | null;
  readonly limit: string | null;
}

export interface SearchPage {
  readonly hits: readonly SearchHit[];
  /** The `before` of the next page; `null` when this one is the last. */
  readonly next: string | null;
}

export interface MessageSearchOptions {
  readonly store: MessageStore;
  readonly access: RoomAccess;
  /** `null` turns the rate limits off (`RATE_LIMIT=off`). */
  readonly limits?: { readonly person: RateLimit; readonly address: RateLimit } | null;
  readonly now?: () => number;
}

const CURSOR = /^(\d{1,15}):(\d{1,18}):([A-Za-z0-9_-]{1,64})$/;

/**
 * Search in the rooms a person may read: with no room named, the public rooms they opened (their
 * room list keeps them) and the private rooms and direct messages they are a member of, read
 * from the directory at each search, so a removal counts at once; with `room`, that one room, if
 * they may read it (any public room; a private one they are a member of). A room they may not
 * read is `404 not_found`, as a room nobody made.
 */
export class MessageSearch {
  readonly #store: MessageStore;
  readonly #directory: Directory;
  readonly #access: RoomAccess;
  readonly #people: KeyedBuckets | null;
  readonly #addresses: KeyedBuckets | null;

  constructor(options: MessageSearchOptions) {
    this.#store = options.store;
    this.#directory = options.store.directory;
    this.#access = options.access;
    const limits = options.limits === undefined ? { person: DEFAULT_SEARCHES, address: DEFAULT_SEARCHES_PER_ADDRESS } : options.limits;
    const now = options.now ?? Date.now;
    this.#people = limits ? new KeyedBuckets(limits.person, { now, maxKeys: 50_000 }) : null;
    this.#addresses = limits ? new KeyedBuckets(limits.address, { now, maxKeys: 50_000 }) : null;
  }

  /** One page of hits, newest first; throws `Refused` for a bad request, one over the limits, or a room not theirs. */
  async search(userId: string, address: string, request: SearchRequest): Promise<SearchPage> {
    const query = searchQuery(request.q);
    const limit = pageSize(request.limit);
    const before = request.before === null ? undefined : cursor(request.before);
    if (request.room !== null && !isValidRoomName(request.room)) throw new Refused(404, 'not_found', 'no such room');
    this.#spend(this.#people, userId);
    this.#spend(this.#addresses, address);
    const rooms = request.room === null ? await this.#readableRooms(userId) : await this.#oneRoom(request.room, userId);
    const hits = await this.#store.search(rooms, query, before === undefined ? { limit } : { limit, before });
    const last = hits.at(-1);
    return { hits, next: hits.length === limit && last ? `${last.message.ts}:${last.message.id}:${last.room}` : null };
  }

  async #readableRooms(userId: string): Promise<string[]> {
    const entries = await this.#directory.roomsOf(userId, MAX_SEARCHED_ROOMS);
    const rooms = new Set(entries.filter((entry) => entry.kind === 'public' || entry.role !== 'visitor').map((entry) => entry.room));
    rooms.add(DEFAULT_ROOM);
    return [...rooms];
  }

  async #oneRoom(room: string, userId: string): Promise<string[]> {
    if ((await this.#access.check(room, userId)) === null) throw new Refused(404, 'not_found', 'no such room');
    return [room];
  }

  #spend(buckets: KeyedBuckets | null, key: string): void {
    if (buckets === null || buckets.take(key)) return;
    throw new Refused(429, 'rate_limited', 'too many searches; try again in a moment', Math.max(1, Math.ceil(buckets.msUntil(key) / 1000)));
  }
}

function searchQuery(q: string | null): string {
  const query = q?.trim() ?? '';
  if (query === '') throw new Refused(400, 'invalid', 'q: say what to search for');
  if (codePointLength(query, MAX_SEARCH_QUERY_CHARS + 1) > MAX_SEARCH_QUERY_CHARS) {
    throw new Refused(400, 'too_long', `q: at most ${MAX_SEARCH_QUERY_CHARS} characters`);
  }
  return query;
}

function pageSize(limit: string | null): number {
  if (limit === null) return SEARCH_PAGE_SIZE;
  const size = /^\d{1,3}$/.test(limit) ? Number(limit) : 0;
  if (size < 1 || size > MAX_SEARCH_PAGE_SIZE) throw new Refused(400, 'invalid', `limit: 1 to ${MAX_SEARCH_PAGE_SIZE}`);
  return size;
}

function cursor(before: string): SearchCursor {
  const match = CURSOR.exec(before);
  if (match === null) throw new Refused(400, 'invalid', 'before: the next value of a previous page');
  return { ts: Number(match[1]), id: match[2]!.replace(/^0+(?=\d)/, ''), room: match[3]! };
}

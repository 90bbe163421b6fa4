import type { ChatMessageFrame } from '../chat/protocol';

/**
 * The chat's HTTP API as the browser uses it: sessions and accounts, the room list, private rooms
 * with their members and invite links, and direct messages. Every call is same-origin JSON; an
 * answer that is not 2xx becomes an `ApiError` with the server's `{error, detail}` (or, when the
 * body is not that, the HTTP status as the code).
 */

export interface Account {
  readonly username: string;
}

export interface SessionInfo {
  readonly user_id: string;
  readonly user: string;
  /** Null for a guest. */
  readonly account: Account | null;
}

export type RoomKind = 'public' | 'private' | 'direct';
export type RoomRole = 'owner' | 'member' | 'visitor';

export interface PersonRef {
  readonly user_id: string;
  readonly user: string;
}

export interface RoomSummary {
  readonly room: string;
  readonly kind: RoomKind;
  readonly title: string;
  readonly role: RoomRole;
  /** Messages not read yet; 100 means "99 or more". */
  readonly unread: number;
  readonly last: ChatMessageFrame | null;
  /** The other person of a direct message. */
  readonly peer: PersonRef | null;
}

export interface RoomMember extends PersonRef {
  readonly role: RoomRole;
}

export type RoomDetails =
  | { readonly room: string; readonly kind: 'public'; readonly title: string }
  | {
      readonly room: string;
      readonly kind: 'private' | 'direct';
      readonly title: string;
      readonly role: RoomRole;
      readonly owner_id: string;
      readonly members: readonly RoomMember[];
    };

export interface CreatedInvite {
  readonly id: string;
  readonly token: string;
  /** `/invite/<token>`, on this site. */
  readonly path: string;
  readonly expires_at: number | string;
}

export interface InviteSummary {
  readonly id: string;
  readonly created_at: number | string;
  readonly expires_at: number | string;
}

/** The unread count the server sends for "99 or more". */
export const UNREAD_CAP = 100;

export class ApiError extends Error {
  readonly status: number;
  /** The server's code (`username_taken`, `not_found`, …), or `http_<status>`, or `network`. */
  readonly code: string;
  readonly detail: string;
  /** Seconds to wait before trying again, from `Retry-After` (429, 503); null without one. */
  readonly retryAfter: number | null;

  constructor(status: number, code: string, detail: string, retryAfter: number | null = null) {
    super(`${code}: ${detail}`);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.detail = detail;
    this.retryAfter = retryAfter;
  }
}

/** One page of `GET /api/search`: messages, newest first, each with its room; `next` for the following page. */
export interface SearchResults {
  readonly results: readonly ChatMessageFrame[];
  readonly next: string | null;
}

/** The search of `q`, in `room` only if given, from the page `before` (a `next`). */
export function searchPath(q: string, options: { readonly room?: string | null; readonly before?: string | null } = {}): string {
  const params = new URLSearchParams({ q });
  if (options.room) params.set('room', options.room);
  if (options.before) params.set('before', options.before);
  return `/api/search?${params.toString()}`;
}

/** A `Retry-After` header as whole seconds from `now` (at least 1): delay-seconds or an HTTP date; null if absent or unreadable. */
export function retryAfterSeconds(header: string | null, now: number = Date.now()): number | null {
  if (header === null) return null;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Math.max(1, Number(value));
  // An HTTP date names its day and month: "-3" or "2" is no date (Date.parse would take it for a year).
  const at = /[a-z]/i.test(value) ? Date.parse(value) : Number.NaN;
  return Number.isNaN(at) ? null : Math.max(1, Math.ceil((at - now) / 1000));
}

async function call<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<T> {
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      credentials: 'same-origin',
      cache: 'no-store',
      headers: body === undefined ? { accept: 'application/json' } : { accept: 'application/json', 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch {
    throw new ApiError(0, 'network', 'the server cannot be reached');
  }
  if (response.status === 204) return undefined as T;
  let value: unknown = null;
  try {
    value = await response.json();
  } catch {
    // Not JSON (a proxy's error page, or a route this server does not have).
  }
  if (!response.ok) {
    const fields = typeof value === 'object' && value !== null ? (value as { error?: unknown; detail?: unknown }) : {};
    throw new ApiError(
      response.status,
      typeof fields.error === 'string' ? fields.error : `http_${response.status}`,
      typeof fields.detail === 'string' ? fields.detail : response.statusText,
      retryAfterSeconds(response.headers.get('retry-after')),
    );
  }
  if (typeof value !== 'object' || value === null) throw new ApiError(response.status, 'bad_response', 'the answer is not JSON');
  return value as T;
}

const room = (name: string): string => `/api/rooms/${encodeURIComponent(name)}`;

/** Each call of the HTTP API; they throw `ApiError`. */
export const chatApi = {
  async session(): Promise<SessionInfo> {
    const value = await call<Partial<SessionInfo>>('GET', '/api/session');
    return { user_id: value.user_id ?? '', user: value.user ?? '', account: value.account ?? null };
  },
  rename: (name: string) => call<{ user_id: string; user: string }>('POST', '/api/session', { name }),
  signOut: () => call<void>('DELETE', '/api/session'),
  signUp: (username: string, password: string) => call<SessionInfo>('POST', '/api/accounts', { username, password }),
  signIn: (username: string, password: string) => call<SessionInfo>('POST', '/api/session/sign-in', { username, password }),
  async rooms(): Promise<readonly RoomSummary[]> {
    const value = await call<{ rooms?: readonly RoomSummary[] }>('GET', '/api/rooms');
    return Array.isArray(value.rooms) ? value.rooms : [];
  },
  createRoom: (title: string) => call<{ room: string; kind: 'private'; title: string }>('POST', '/api/rooms', { title }),
  room: (name: string) => call<RoomDetails>('GET', room(name)),
  invite: (name: string, username: string) => call<PersonRef>('POST', `${room(name)}/members`, { username }),
  removeMember: (name: string, userId: string) => call<void>('DELETE', `${room(name)}/members/${encodeURIComponent(userId)}`),
  createInvite: (name: string) => call<CreatedInvite>('POST', `${room(name)}/invites`, {}),
  async invites(name: string): Promise<readonly InviteSummary[]> {
    const value = await call<{ invites?: readonly InviteSummary[] }>('GET', `${room(name)}/invites`);
    return Array.isArray(value.invites) ? value.invites : [];
  },
  revokeInvite: (name: string, id: string) => call<void>('DELETE', `${room(name)}/invites/${encodeURIComponent(id)}`),
  invitation: (token: string) => call<{ room: string; title: string }>('GET', `/api/invites/${encodeURIComponent(token)}`),
  acceptInvite: (token: string) => call<{ room: string; title: string }>('POST', `/api/invites/${encodeURIComponent(token)}`, {}),
  openDirect: (userId: string) => call<{ room: string }>('POST', '/api/dms', { user_id: userId }),
  async search(q: string, options: { readonly room?: string | null; readonly before?: string | null } = {}): Promise<SearchResults> {
    const value = await call<Partial<SearchResults>>('GET', searchPath(q, options));
    return { results: Array.isArray(value.results) ? value.results : [], next: typeof value.next === 'string' ? value.next : null };
  },
};

/**
 * A `next` address from a query string, if it is a path on this site (`/rooms/`, not
 * `//elsewhere.example` or `https://…`); otherwise null.
 */
export function sameSitePath(next: string | null | undefined, origin: string): string | null {
  if (!next || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) return null;
  try {
    const url = new URL(next, origin);
    return url.origin === origin ? `${url.pathname}${url.search}${url.hash}` : null;
  } catch {
    return null;
  }
}

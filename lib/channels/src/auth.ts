import { createHash, randomBytes } from 'node:crypto';
import type { Application } from './application';
import { closeAfterAccept, CloseCode } from './close-codes';
import { ConnectionRefused } from './errors';
import type { AppUser, Scope } from './scope';

/**
 * Who a connection is, as a resolver found it: a user (and the session it belongs to, if any: a
 * session's sockets close when it ends, in every process), or `null` for an anonymous connection.
 */
export type Authentication = {
  /** The app's user (see `Register`). */
  readonly user: AppUser;
  /** The session, when the user came with one that can end (sign-out, revocation). */
  readonly sessionId?: string | null;
} | null;

/**
 * The app's way to know who is connecting, from the handshake: its headers, cookies, query and
 * client address. Answers an {@link Authentication} (`null`: anonymous, which is not a refusal),
 * or throws `ConnectionRefused` to refuse (a forged token, an ended session), which the client
 * reads as a close (4401 by convention).
 */
export type UserResolver = (scope: Scope) => Authentication | Promise<Authentication>;

/**
 * Puts the app's user on `scope.user` (and its session on `scope.sessionId`), as Django
 * Channels' `AuthMiddlewareStack` does, from the app's own resolver: its session cookie, a
 * bearer token, a ticket (see `anyOf`, `bearerToken`, `WebsocketTickets`). An anonymous
 * connection gets `user: null`; routes that need a user say so with `authorize`.
 */
export function authMiddleware(inner: Application, resolve: UserResolver): Application {
  return async (scope, connection, env) => {
    let found: Authentication;
    try {
      found = await resolve(scope);
    } catch (error) {
      if (!(error instanceof ConnectionRefused)) throw error;
      await closeAfterAccept(connection, error.code, error.reason);
      return;
    }
    return inner({ ...scope, user: found?.user ?? null, sessionId: found?.sessionId ?? null }, connection, env);
  };
}

/** The first resolver that finds someone; `null` when none does. A refusal by any ends the search. */
export function anyOf(...resolvers: readonly UserResolver[]): UserResolver {
  return async (scope) => {
    for (const resolve of resolvers) {
      const found = await resolve(scope);
      if (found !== null) return found;
    }
    return null;
  };
}

const BEARER = /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/;
const MAX_TOKEN_LENGTH = 4_096;

/**
 * The token of an `Authorization: Bearer <token>` header on the upgrade (what a non-browser
 * client sends; a browser cannot set headers on a WebSocket), or `null` when there is none or it
 * is malformed or over 4 KiB.
 */
export function bearerToken(scope: Pick<Scope, 'headers'>): string | null {
  const header = scope.headers.authorization;
  if (typeof header !== 'string' || header.length > MAX_TOKEN_LENGTH + 7) return null;
  return BEARER.exec(header)?.[1] ?? null;
}

/**
 * Where tickets wait to be redeemed: this process by default, or a store every process shares
 * (`RedisTickets` in `next-channels/redis`), so a ticket issued by one process is redeemed by
 * whichever process the page's socket reaches. Keys are hashes of tickets: what the store holds
 * lets nobody in.
 */
export interface TicketStore {
  /** Keeps `value` under `key` for `ttlMs`. */
  put(key: string, value: string, ttlMs: number): Promise<void>;
  /** The value under `key`, removed in the same step (one redeemer gets it); `null` when there is none or it expired. */
  take(key: string): Promise<string | null>;
}

/** Options of {@link WebsocketTickets}. */
export interface WebsocketTicketOptions {
  /** How long a ticket may wait to be used (default 30 s). */
  readonly ttlMs?: number;
  /** Where tickets wait (default: this process, see `maxWaiting`). */
  readonly store?: TicketStore;
  /** Tickets waiting at most in this process's own store (default 10,000); past it the oldest are forgotten. */
  readonly maxWaiting?: number;
  /** The clock in ms of this process's own store (default `Date.now`). */
  readonly now?: () => number;
  /** The query parameter the client puts it in (default `ticket`). */
  readonly parameter?: string;
}

const TICKET = /^[A-Za-z0-9_-]{43}$/;

/** The default `TicketStore`: this process's memory, bounded, expired entries dropped as new ones come. */
class ProcessTickets implements TicketStore {
  readonly #waiting = new Map<string, { readonly value: string; readonly expiresAt: number }>();
  readonly #maxWaiting: number;
  readonly #now: () => number;

  constructor(maxWaiting: number, now: () => number) {
    this.#maxWaiting = maxWaiting;
    this.#now = now;
  }

  async put(key: string, value: string, ttlMs: number): Promise<void> {
    const now = this.#now();
    // Expired tickets go first; then, past the cap, the oldest (a Map keeps insertion order).
    for (const [waitingKey, waiting] of this.#waiting) {
      if (waiting.expiresAt > now && this.#waiting.size < this.#maxWaiting) break;
      this.#waiting.delete(waitingKey);
    }
    this.#waiting.set(key, { value, expiresAt: now + ttlMs });
  }

  async take(key: string): Promise<string | null> {
    const waiting = this.#waiting.get(key);
    if (!waiting) return null;
    this.#waiting.delete(key);
    return waiting.expiresAt > this.#now() ? waiting.value : null;
  }
}

/**
 * Short-lived, single-use tickets for a browser on another origin, which cannot send the site's
 * cookies with its WebSocket: the app's HTTP route (authenticated as usual) calls `issue`, the
 * page connects with `?ticket=<it>`, and `resolver` trades it for the user once. A ticket is 256
 * random bits, lives 30 s, works once, and names nobody in the URL that logs keep. With several
 * processes, give them one `store` (`RedisTickets`): a ticket is then good on any of them.
 */
export class WebsocketTickets {
  readonly #store: TicketStore;
  readonly #ttlMs: number;
  readonly #parameter: string;

  constructor(options: WebsocketTicketOptions = {}) {
    this.#ttlMs = options.ttlMs ?? 30_000;
    this.#store = options.store ?? new ProcessTickets(options.maxWaiting ?? 10_000, options.now ?? Date.now);
    this.#parameter = options.parameter ?? 'ticket';
  }

  /** A new ticket for `authentication` (the user, and its session if any). */
  async issue(authentication: NonNullable<Authentication>): Promise<string> {
    const ticket = randomBytes(32).toString('base64url');
    await this.#store.put(ticketKey(ticket), JSON.stringify({ user: authentication.user, sessionId: authentication.sessionId ?? null }), this.#ttlMs);
    return ticket;
  }

  /** Trades a ticket for whom it was issued to, once; `null` for an unknown, used or expired one. */
  async redeem(ticket: string): Promise<NonNullable<Authentication> | null> {
    if (!TICKET.test(ticket)) return null;
    const value = await this.#store.take(ticketKey(ticket));
    if (value === null) return null;
    const found = JSON.parse(value) as { user: AppUser; sessionId: string | null };
    return found.sessionId === null ? { user: found.user } : { user: found.user, sessionId: found.sessionId };
  }

  /**
   * A resolver for `authMiddleware`: a connection without the ticket parameter is left to the
   * next resolver (`null`); one with a ticket that is unknown, used or expired is refused with
   * 4401.
   */
  readonly resolver: UserResolver = async (scope) => {
    const ticket = scope.query.get(this.#parameter);
    if (ticket === null) return null;
    const found = await this.redeem(ticket);
    if (found === null) throw new ConnectionRefused(CloseCode.AuthenticationRequired, 'ticket unknown, used or expired');
    return found;
  };
}

/** What a store keeps a ticket under: its SHA-256, so the store's contents redeem nothing. */
function ticketKey(ticket: string): string {
  return createHash('sha256').update(ticket).digest('base64url');
}

import { randomBytes } from 'node:crypto';
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

/** Options of {@link WebsocketTickets}. */
export interface WebsocketTicketOptions {
  /** How long a ticket may wait to be used (default 30 s). */
  readonly ttlMs?: number;
  /** Tickets waiting at most (default 10,000); past it the oldest are forgotten. */
  readonly maxWaiting?: number;
  /** The clock in ms (default `Date.now`). */
  readonly now?: () => number;
  /** The query parameter the client puts it in (default `ticket`). */
  readonly parameter?: string;
}

const TICKET = /^[A-Za-z0-9_-]{43}$/;

/**
 * Short-lived, single-use tickets for a browser on another origin, which cannot send the site's
 * cookies with its WebSocket: the app's HTTP route (authenticated as usual) calls `issue`, the
 * page connects with `?ticket=<it>`, and `resolver` trades it for the user once. A ticket is 256
 * random bits, lives 30 s, works once, and names nobody in the URL that logs keep. Tickets are
 * kept in this process: with several processes, send the page's socket to the process that
 * issued its ticket (or issue and redeem through a store of your own).
 */
export class WebsocketTickets {
  readonly #waiting = new Map<string, { readonly authentication: NonNullable<Authentication>; readonly expiresAt: number }>();
  readonly #ttlMs: number;
  readonly #maxWaiting: number;
  readonly #now: () => number;
  readonly #parameter: string;

  constructor(options: WebsocketTicketOptions = {}) {
    this.#ttlMs = options.ttlMs ?? 30_000;
    this.#maxWaiting = options.maxWaiting ?? 10_000;
    this.#now = options.now ?? Date.now;
    this.#parameter = options.parameter ?? 'ticket';
  }

  /** A new ticket for `authentication` (the user, and its session if any). */
  issue(authentication: NonNullable<Authentication>): string {
    const now = this.#now();
    // Expired tickets go first; then, past the cap, the oldest (a Map keeps insertion order).
    for (const [ticket, waiting] of this.#waiting) {
      if (waiting.expiresAt > now && this.#waiting.size < this.#maxWaiting) break;
      this.#waiting.delete(ticket);
    }
    const ticket = randomBytes(32).toString('base64url');
    this.#waiting.set(ticket, { authentication, expiresAt: now + this.#ttlMs });
    return ticket;
  }

  /** Trades a ticket for whom it was issued to, once; `null` for an unknown, used or expired one. */
  redeem(ticket: string): NonNullable<Authentication> | null {
    if (!TICKET.test(ticket)) return null;
    const waiting = this.#waiting.get(ticket);
    if (!waiting) return null;
    this.#waiting.delete(ticket);
    return waiting.expiresAt > this.#now() ? waiting.authentication : null;
  }

  /**
   * A resolver for `authMiddleware`: a connection without the ticket parameter is left to the
   * next resolver (`null`); one with a ticket that is unknown, used or expired is refused with
   * 4401.
   */
  readonly resolver: UserResolver = (scope) => {
    const ticket = scope.query.get(this.#parameter);
    if (ticket === null) return null;
    const found = this.redeem(ticket);
    if (found === null) throw new ConnectionRefused(CloseCode.AuthenticationRequired, 'ticket unknown, used or expired');
    return found;
  };
}

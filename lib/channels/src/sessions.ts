import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { stringifySetCookie } from 'cookie';
import type { Application } from './application';
import { type UserResolver, authMiddleware } from './auth';
import { CloseCode } from './close-codes';
import { ConnectionRefused } from './errors';
import type { ChannelLayer } from './layers/types';
import type { SessionUser } from './scope';
import { RevocationCheck, type SessionRevocations } from './session-revocations';

/** How `SessionCookies` signs, names and checks its cookies. */
export interface SessionCookieOptions {
  /** The key that signs cookies; at least 32 characters. */
  readonly secret: string;
  /** Default `__Host-session` when `secure` (no other site, not even a sibling subdomain, can set it), else `session`. */
  readonly cookieName?: string;
  /** How long a cookie stays valid after it was issued (default 180 days); renewed past half. */
  readonly maxAgeMs?: number;
  /** Mark the cookie `Secure` (the site is served over HTTPS). */
  readonly secure?: boolean;
  /** Where ended sessions are kept; without it, sessions cannot be revoked. */
  readonly revocations?: SessionRevocations;
  /** How long a "not revoked" answer is trusted (default 2 s): see `RevocationCheck`. */
  readonly revocationCacheMs?: number;
  /**
   * Checks the user of every cookie read, and returns the one to use: a cookie signed by an older
   * version may hold what this one no longer allows (a display name, say). A changed user is
   * written back to the cookie at the next page load.
   */
  readonly checkUser?: (user: SessionUser) => SessionUser;
  /** The clock in milliseconds (default `Date.now`), so tests can move time without waiting. */
  readonly now?: () => number;
}

/** A browser's session: the user, and an id that stays the same across renewals and renames. */
export interface Session {
  /** Random; what `revoke` ends. Letters, digits, `-` and `_`. */
  readonly id: string;
  /** Who the browser is: user id and display name, as signed into the cookie. */
  readonly user: SessionUser;
}

/**
 * What a request's Cookie header says: a valid session; one that was ended (signed out or
 * revoked); or none (no cookie, a forged, malformed or expired one, or the session cookie named
 * twice, which is ambiguous: a cookie set for a parent domain could stand beside ours).
 */
export type CookieSession =
  | {
      /** A cookie we signed, not expired, whose session was not ended. */
      readonly state: 'valid';
      /** The session it holds. */
      readonly session: Session;
    }
  | {
      /** A cookie we signed whose session was signed out or revoked. */
      readonly state: 'ended';
      /** Nothing to use. */
      readonly session: null;
    }
  | {
      /** No usable session cookie. */
      readonly state: 'none';
      /** Nothing to use. */
      readonly session: null;
    };

/** The layer event that tells a session's consumers it ended: each closes with `CloseCode.SessionEnded`. */
export const SESSION_ENDED = 'session.ended';

/** The group every consumer of a session joins (see `WebsocketConsumer`), to hear `SESSION_ENDED`. */
export function sessionGroup(sessionId: string): string {
  return `session.${sessionId}`;
}

interface Payload {
  readonly u: string;
  readonly n: string;
  /** issued at, in seconds since the epoch */
  readonly t: number;
  /** the session id; absent from cookies signed before sessions could be revoked */
  readonly s?: string;
}

interface Verified {
  readonly session: Session;
  /** Worth writing again: past half its age, of an older format, or its user was changed by `checkUser`. */
  readonly stale: boolean;
}

/** The shortest session secret `SessionCookies` takes, in characters. */
export const MIN_SECRET_LENGTH = 32;
const DAY_MS = 86_400_000;
const SESSION_ID = /^[A-Za-z0-9_-]{16,64}$/;
const NONE: CookieSession = Object.freeze({ state: 'none', session: null });
const ENDED: CookieSession = Object.freeze({ state: 'ended', session: null });

/**
 * Signed-cookie sessions: the cookie holds the user id, display name, a random session id and the
 * issue time, with an HMAC-SHA256 over them, so every process that shares the secret reads every
 * session without a lookup. Only ended sessions are stored (`SessionRevocations`): each read of a
 * cookie checks its session id against them (see `RevocationCheck` for how fresh that is).
 */
export class SessionCookies {
  /** The cookie's name: `cookieName` as given, or `__Host-session` when secure, else `session`. */
  readonly cookieName: string;
  readonly #secret: string;
  readonly #maxAgeMs: number;
  readonly #secure: boolean;
  readonly #revocations: RevocationCheck | null;
  readonly #checkUser: (user: SessionUser) => SessionUser;
  readonly #now: () => number;

  constructor(options: SessionCookieOptions) {
    if (options.secret.length < MIN_SECRET_LENGTH) {
      throw new Error(`the session secret must be at least ${MIN_SECRET_LENGTH} characters`);
    }
    this.#secret = options.secret;
    this.#secure = options.secure ?? false;
    this.cookieName = options.cookieName ?? (this.#secure ? '__Host-session' : 'session');
    if (this.cookieName.startsWith('__Host-') && !this.#secure) throw new Error('a __Host- cookie must be secure: browsers refuse it otherwise');
    this.#maxAgeMs = options.maxAgeMs ?? 180 * DAY_MS;
    this.#now = options.now ?? Date.now;
    this.#revocations = options.revocations
      ? new RevocationCheck(options.revocations, { cacheMs: options.revocationCacheMs ?? 2_000, now: this.#now })
      : null;
    this.#checkUser = options.checkUser ?? ((user) => user);
  }

  /** The valid session of a request's Cookie header, or `null` (see `CookieSession`). */
  async read(cookieHeader: string | null | undefined): Promise<Session | null> {
    return (await this.inspect(cookieHeader)).session;
  }

  /** What a request's Cookie header says about its session. Rejects when the revocation store cannot answer. */
  async inspect(cookieHeader: string | null | undefined): Promise<CookieSession> {
    return (await this.#inspect(cookieHeader)).found;
  }

  /** The cookie value of a session, issued now. */
  sign(user: SessionUser, sessionId: string = newSessionId()): string {
    const payload: Payload = { u: user.id, n: user.name, t: Math.floor(this.#now() / 1000), s: sessionId };
    const body = Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url');
    return `${body}.${this.#mac(body)}`;
  }

  /** A complete `Set-Cookie` header value for a session: HttpOnly, SameSite=Lax, whole site, no Domain. */
  setCookieHeader(session: Session): string {
    return this.#cookie(this.sign(session.user, session.id), Math.floor(this.#maxAgeMs / 1000));
  }

  /** A `Set-Cookie` header value that removes the cookie from the browser. */
  clearCookieHeader(): string {
    return this.#cookie('', 0);
  }

  /**
   * Makes sure an HTTP request carries a session: a missing, invalid, ended, ambiguous or
   * half-expired cookie gets a fresh one on the response (a renewal keeps the session id), and
   * the request's own Cookie header is rewritten to it so the page rendered for this very request
   * already sees the session.
   */
  async ensure(req: IncomingMessage, res: ServerResponse, newUser: () => SessionUser): Promise<Session> {
    const { found, stale } = await this.#inspect(req.headers.cookie);
    if (found.session && !stale) return found.session;
    const session = found.session ?? { id: newSessionId(), user: newUser() };
    const header = this.setCookieHeader(session);
    const previous = res.getHeader('set-cookie');
    res.setHeader('set-cookie', [...(Array.isArray(previous) ? previous : previous ? [String(previous)] : []), header]);
    const others = (req.headers.cookie ?? '')
      .split(';')
      .map((part) => part.trim())
      .filter((part) => part && cookieName(part) !== this.cookieName);
    req.headers.cookie = [...others, header.slice(0, header.indexOf(';'))].join('; ');
    return session;
  }

  /**
   * Whether a session was ended (signed out or revoked), as fresh as a cookie read (see
   * `RevocationCheck`): for a credential that carries a session id without its cookie, such as a
   * `WebsocketTickets` ticket. Always false without a revocation store.
   */
  async isEnded(sessionId: string): Promise<boolean> {
    return (await this.#revocations?.isRevoked(sessionId)) ?? false;
  }

  /**
   * Ends a session everywhere: its cookies are refused from now on (in this process at once, in
   * others within the revocation cache time), and, given the channel layer, every consumer of it
   * in every process closes with `CloseCode.SessionEnded`.
   */
  async revoke(sessionId: string, layer: ChannelLayer | null = null): Promise<void> {
    if (!this.#revocations) throw new Error('sessions cannot be revoked: no revocation store was given');
    // Every cookie of the session was issued by now, so none outlives this.
    await this.#revocations.revoke(sessionId, this.#now() + this.#maxAgeMs);
    await layer?.groupSend(sessionGroup(sessionId), { type: SESSION_ENDED });
  }

  async #inspect(cookieHeader: string | null | undefined): Promise<{ found: CookieSession; stale: boolean }> {
    const verified = this.#verify(this.#valueIn(cookieHeader));
    if (!verified) return { found: NONE, stale: false };
    if (await this.#revocations?.isRevoked(verified.session.id)) return { found: ENDED, stale: false };
    return { found: { state: 'valid', session: verified.session }, stale: verified.stale };
  }

  /** The session cookie's value in a Cookie header; none when it is absent or there twice. */
  #valueIn(header: string | null | undefined): string | undefined {
    if (!header) return undefined;
    let value: string | undefined;
    for (const part of header.split(';')) {
      if (cookieName(part) !== this.cookieName) continue;
      if (value !== undefined) return undefined;
      value = part.slice(part.indexOf('=') + 1).trim();
    }
    return value;
  }

  #verify(value: string | undefined): Verified | null {
    if (!value) return null;
    const dot = value.indexOf('.');
    if (dot <= 0) return null;
    const body = value.slice(0, dot);
    const given = Buffer.from(value.slice(dot + 1), 'base64url');
    const expected = Buffer.from(this.#mac(body), 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
    let payload: unknown;
    try {
      payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
    } catch {
      return null;
    }
    if (!isPayload(payload)) return null;
    const ageMs = this.#now() - payload.t * 1000;
    if (ageMs < -60_000 || ageMs > this.#maxAgeMs) return null;
    const signed = { id: payload.u, name: payload.n };
    const user = this.#checkUser(signed);
    // A cookie from before session ids gets one derived from its signature: unguessable, and
    // kept when the cookie is written again in the new format, so it can be revoked too.
    const id = payload.s ?? createHash('sha256').update(given).digest('base64url').slice(0, 22);
    return { session: { id, user }, stale: ageMs > this.#maxAgeMs / 2 || payload.s === undefined || user !== signed };
  }

  #cookie(value: string, maxAgeSeconds: number): string {
    return stringifySetCookie(this.cookieName, value, {
      httpOnly: true,
      sameSite: 'lax',
      secure: this.#secure,
      path: '/',
      maxAge: maxAgeSeconds,
    });
  }

  #mac(body: string): string {
    return createHmac('sha256', this.#secret).update(body).digest('base64url');
  }
}

/** A new random session id: 128 bits. */
export function newSessionId(): string {
  return randomBytes(16).toString('base64url');
}

function cookieName(part: string): string {
  const equals = part.indexOf('=');
  return equals === -1 ? '' : part.slice(0, equals).trim();
}

function isPayload(value: unknown): value is Payload {
  if (typeof value !== 'object' || value === null) return false;
  const { u, n, t, s } = value as Record<string, unknown>;
  return (
    typeof u === 'string' &&
    u.length > 0 &&
    u.length <= 64 &&
    typeof n === 'string' &&
    n.length > 0 &&
    n.length <= 200 &&
    typeof t === 'number' &&
    Number.isInteger(t) &&
    (s === undefined || (typeof s === 'string' && SESSION_ID.test(s)))
  );
}

/**
 * The signed-cookie session as a resolver for `authMiddleware`: the session's user and id; for a
 * connection without a valid cookie, `guest()`'s user for this connection only, or anonymous
 * (`null`) without `guest`; a cookie that names an ended session is refused with
 * `CloseCode.SessionEnded` (4401 `session ended`), so a browser learns why and stops reconnecting
 * with that cookie.
 */
export function sessionResolver(sessions: SessionCookies, guest?: () => SessionUser): UserResolver {
  return async (scope) => {
    const cookie = await sessions.inspect(scope.headers.cookie);
    if (cookie.state === 'ended') throw new ConnectionRefused(CloseCode.SessionEnded, 'session ended');
    const session = cookie.session;
    if (session) return { user: session.user, sessionId: session.id };
    return guest ? { user: guest(), sessionId: null } : null;
  };
}

/**
 * Puts the session's user into `scope.user` and its id into `scope.sessionId`: `authMiddleware`
 * with {@link sessionResolver}. A connection without a valid session cookie (a raw WebSocket
 * client, a forged, expired or ambiguous cookie) gets `guest()`, for this connection only. A
 * connection whose cookie names an ended session is accepted and closed at once with
 * `CloseCode.SessionEnded`.
 */
export function sessionMiddleware(inner: Application, sessions: SessionCookies, guest: () => SessionUser): Application {
  return authMiddleware(inner, sessionResolver(sessions, guest));
}

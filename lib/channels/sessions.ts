import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { stringifySetCookie } from 'cookie';
import type { Application } from './application';
import { cookiesOf, type SessionUser } from './scope';

export interface SessionCookieOptions {
  /** The key that signs cookies; at least 32 characters. */
  readonly secret: string;
  readonly cookieName?: string;
  /** How long a cookie stays valid after it was issued (default 180 days); renewed past half. */
  readonly maxAgeMs?: number;
  /** Mark the cookie `Secure` (the site is served over HTTPS). */
  readonly secure?: boolean;
  readonly now?: () => number;
}

interface Payload {
  readonly u: string;
  readonly n: string;
  /** issued at, in seconds since the epoch */
  readonly t: number;
}

export const MIN_SECRET_LENGTH = 32;
const DAY_MS = 86_400_000;

/**
 * Stateless signed-cookie sessions: the cookie holds the user id, display name and issue time,
 * with an HMAC-SHA256 over them. Nothing is stored on the server, so every process that shares
 * the secret recognises every session.
 */
export class SessionCookies {
  readonly cookieName: string;
  readonly #secret: string;
  readonly #maxAgeMs: number;
  readonly #secure: boolean;
  readonly #now: () => number;

  constructor(options: SessionCookieOptions) {
    if (options.secret.length < MIN_SECRET_LENGTH) {
      throw new Error(`the session secret must be at least ${MIN_SECRET_LENGTH} characters`);
    }
    this.#secret = options.secret;
    this.cookieName = options.cookieName ?? 'session';
    this.#maxAgeMs = options.maxAgeMs ?? 180 * DAY_MS;
    this.#secure = options.secure ?? false;
    this.#now = options.now ?? Date.now;
  }

  /** The user of a signed cookie value, or `null` when it is forged, malformed or expired. */
  read(value: string | undefined): SessionUser | null {
    return this.#verify(value)?.user ?? null;
  }

  /** The cookie value for a user, issued now. */
  sign(user: SessionUser): string {
    const payload: Payload = { u: user.id, n: user.name, t: Math.floor(this.#now() / 1000) };
    const body = Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url');
    return `${body}.${this.#mac(body)}`;
  }

  /** A complete `Set-Cookie` header value for a user: HttpOnly, SameSite=Lax, whole site. */
  setCookieHeader(user: SessionUser): string {
    return stringifySetCookie(this.cookieName, this.sign(user), {
      httpOnly: true,
      sameSite: 'lax',
      secure: this.#secure,
      path: '/',
      maxAge: Math.floor(this.#maxAgeMs / 1000),
    });
  }

  /**
   * Makes sure an HTTP request carries a session: a missing, invalid or half-expired cookie gets
   * a fresh one on the response, and the request's own Cookie header is rewritten to it so the
   * page rendered for this very request already sees the session.
   */
  ensure(req: IncomingMessage, res: ServerResponse, newUser: () => SessionUser): SessionUser {
    const verified = this.#verify(cookiesOf(req.headers)[this.cookieName]);
    if (verified && !verified.stale) return verified.user;
    const user = verified?.user ?? newUser();
    const header = this.setCookieHeader(user);
    const previous = res.getHeader('set-cookie');
    res.setHeader('set-cookie', [...(Array.isArray(previous) ? previous : previous ? [String(previous)] : []), header]);
    const others = (req.headers.cookie ?? '')
      .split(';')
      .map((part) => part.trim())
      .filter((part) => part && !part.startsWith(`${this.cookieName}=`));
    req.headers.cookie = [...others, header.slice(0, header.indexOf(';'))].join('; ');
    return user;
  }

  #verify(value: string | undefined): { user: SessionUser; stale: boolean } | null {
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
    return { user: { id: payload.u, name: payload.n }, stale: ageMs > this.#maxAgeMs / 2 };
  }

  #mac(body: string): string {
    return createHmac('sha256', this.#secret).update(body).digest('base64url');
  }
}

function isPayload(value: unknown): value is Payload {
  if (typeof value !== 'object' || value === null) return false;
  const { u, n, t } = value as Record<string, unknown>;
  return (
    typeof u === 'string' &&
    u.length > 0 &&
    u.length <= 64 &&
    typeof n === 'string' &&
    n.length > 0 &&
    n.length <= 200 &&
    typeof t === 'number' &&
    Number.isInteger(t)
  );
}

/**
 * Puts the session's user into `scope.user`. A connection without a valid session cookie (a raw
 * WebSocket client, a forged or expired cookie) gets `guest()`, for this connection only.
 */
export function sessionMiddleware(inner: Application, sessions: SessionCookies, guest: () => SessionUser): Application {
  return (scope, connection, env) => {
    const user = sessions.read(scope.cookies[sessions.cookieName]) ?? guest();
    return inner({ ...scope, user }, connection, env);
  };
}

import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { parseCookie } from 'cookie';
import { ProxyTrust } from './transport/proxy-trust';

/** Who is on the other end, as the session middleware established it. */
export interface SessionUser {
  /** Stable for as long as the session lasts; what to send a person's events to. */
  readonly id: string;
  /** The display name: anyone's to pick, so never a key for authorisation. */
  readonly name: string;
}

/**
 * Where an app declares its own user type, once, for every `scope.user`:
 *
 * ```ts
 * declare module 'next-channels' {
 *   interface Register {
 *     user: { id: string; name: string; role: 'member' | 'admin' };
 *   }
 * }
 * ```
 *
 * Without it, a user is a {@link SessionUser}.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled by the app's declaration
export interface Register {}

/** What an app's {@link Register} declares: its user type. */
export interface RegisteredUser<U> {
  /** The app's user type. */
  readonly user: U;
}

/** The app's user type: `Register['user']` when the app declares one, else {@link SessionUser}. */
export type AppUser = Register extends RegisteredUser<infer U> ? U : SessionUser;

/** A route's parameters, by name (`:room` → `params.room`), percent-decoded. */
export type RouteParams = Readonly<Record<string, string>>;

/** A connection's query string, to read: a scope is never changed. */
export type ScopeQuery = Pick<URLSearchParams, 'get' | 'getAll' | 'has' | 'keys' | 'values' | 'entries' | 'forEach' | 'toString' | 'size' | typeof Symbol.iterator>;

/**
 * Everything known about a connection when it is opened, like an ASGI scope. Middleware never
 * mutates a scope: it passes a copy with its additions to the application it wraps.
 */
export interface Scope<P extends RouteParams = RouteParams> {
  /** Always `websocket`, as in ASGI. */
  readonly type: 'websocket';
  /** The request path without the query string, as sent (percent-encoded). */
  readonly path: string;
  /** The part of `path` a nested router still has to match. */
  readonly pathRemaining: string;
  /** Route parameters, percent-decoded. */
  readonly params: P;
  /** The query string's parameters (`?after=12` → `query.get('after')`), read-only. */
  readonly query: ScopeQuery;
  /**
   * The request's headers, less those the WebSocket handshake itself spends: `connection`,
   * `upgrade`, `sec-websocket-key`, `-version` and `-extensions`.
   */
  readonly headers: IncomingHttpHeaders;
  /** The request's cookies by name; malformed ones are left out. */
  readonly cookies: Readonly<Record<string, string>>;
  /** The client's address: the socket's, or a trusted proxy's report of it (see `ProxyTrust`). */
  readonly client: {
    /** An IPv4 or IPv6 address. */
    readonly address: string;
    /** The socket's remote port (that of the proxy, behind one). */
    readonly port: number;
  };
  /**
   * Who is connecting, as the authentication middleware (`authMiddleware`, `sessionMiddleware`)
   * resolved it; `null` for an anonymous connection, and before any such middleware.
   */
  readonly user: AppUser | null;
  /**
   * The session the connection came with, set by the session middleware; `null` for a guest of
   * this connection only. Consumers of a session close when it ends (see `sessionGroup`).
   */
  readonly sessionId: string | null;
}

export interface ScopeOptions {
  /** The proxies whose `X-Forwarded-For` gives the client address (default: none). */
  readonly trustProxy?: ProxyTrust;
}

/**
 * Headers that only the transport reads, to make the handshake: a scope lives as long as its
 * connection, so it does not keep them. `sec-websocket-protocol` stays, for consumers to choose.
 */
const HANDSHAKE_HEADERS: ReadonlySet<string> = new Set(['connection', 'upgrade', 'sec-websocket-key', 'sec-websocket-version', 'sec-websocket-extensions']);

const NO_COOKIES: Readonly<Record<string, string>> = Object.freeze({});

/** Query parameters that refuse to change, so one empty set serves every connection without a query. */
class FixedQuery extends URLSearchParams {
  override append(): never {
    throw new TypeError('a scope is not changed: its query is read-only');
  }
  override set(): never {
    return this.append();
  }
  override delete(): never {
    return this.append();
  }
  override sort(): never {
    return this.append();
  }
}

const NO_QUERY = new FixedQuery();

/** Builds the scope of an upgrade request. */
export function scopeFromRequest(req: IncomingMessage, options: ScopeOptions = {}): Scope {
  return createScope(req.url ?? '/', withoutHandshakeHeaders(req.headers), {
    address: (options.trustProxy ?? ProxyTrust.none).clientAddress(req),
    port: req.socket.remotePort ?? 0,
  });
}

/** A scope from its parts: the request target (path and query), headers and client. */
export function createScope(url: string, headers: IncomingHttpHeaders, client: Scope['client']): Scope {
  const queryStart = url.indexOf('?');
  const path = queryStart === -1 ? url : url.slice(0, queryStart);
  return {
    type: 'websocket',
    path,
    pathRemaining: path,
    params: {},
    query: queryStart === -1 || queryStart === url.length - 1 ? NO_QUERY : queryOf(url.slice(queryStart + 1)),
    headers,
    cookies: cookiesOf(headers),
    client,
    user: null,
    sessionId: null,
  };
}

/**
 * The query parameter the framework keeps for its transport (`_channels=sse`, `_channels=probe`);
 * consumers never see it, and a client's resume parameters may not use it.
 */
export const TRANSPORT_PARAMETER = '_channels';

function queryOf(search: string): FixedQuery {
  const query = new FixedQuery(search);
  if (!query.has(TRANSPORT_PARAMETER)) return query;
  const kept = new URLSearchParams(search);
  kept.delete(TRANSPORT_PARAMETER);
  return kept.size === 0 ? NO_QUERY : new FixedQuery(kept);
}

function withoutHandshakeHeaders(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const kept: IncomingHttpHeaders = {};
  for (const name in headers) {
    if (!HANDSHAKE_HEADERS.has(name)) kept[name] = headers[name];
  }
  return kept;
}

/** The cookies of a request, with malformed values skipped rather than thrown on. */
export function cookiesOf(headers: IncomingHttpHeaders): Readonly<Record<string, string>> {
  const header = headers.cookie;
  if (!header) return NO_COOKIES;
  const parsed = parseCookie(header);
  const cookies: Record<string, string> = {};
  for (const [name, value] of Object.entries(parsed)) {
    if (value !== undefined) cookies[name] = value;
  }
  return cookies;
}

import {
  anyOf,
  type Application,
  authMiddleware,
  bearerToken,
  CloseCode,
  ConnectionRefused,
  type Session,
  type SessionCookies,
  sessionResolver,
  type UserResolver,
  type WebsocketTickets,
} from 'next-channels';
import { newGuest } from './identity';

/**
 * Who a chat connection is, from the first of: a ticket (`?ticket=`, from `POST
 * /api/session/ticket`: for a page on another origin), a bearer token (`Authorization: Bearer
 * <the session cookie's value>`: for a client that is not a browser), the session cookie, and
 * else a guest for this connection only. A ticket or token that is presented and bad is refused
 * (4401), never taken for a guest: its client meant to be someone.
 */
export function chatAuthentication(inner: Application, sessions: SessionCookies, tickets: WebsocketTickets | null): Application {
  const resolvers: UserResolver[] = [];
  if (tickets) resolvers.push(ticketResolver(tickets, sessions));
  resolvers.push(bearerResolver(sessions), sessionResolver(sessions, newGuest));
  return authMiddleware(inner, anyOf(...resolvers));
}

function ticketResolver(tickets: WebsocketTickets, sessions: SessionCookies): UserResolver {
  return async (scope) => {
    const found = await tickets.resolver(scope);
    // A ticket outlives nothing: one issued before its session ended is refused with it.
    if (found?.sessionId && (await sessions.isEnded(found.sessionId))) throw new ConnectionRefused(CloseCode.SessionEnded, 'session ended');
    return found;
  };
}

function bearerResolver(sessions: SessionCookies): UserResolver {
  return async (scope) => {
    if (scope.headers.authorization === undefined) return null;
    const token = bearerToken(scope);
    const cookie = token === null ? null : await sessions.inspect(`${sessions.cookieName}=${token}`);
    if (cookie?.state === 'ended') throw new ConnectionRefused(CloseCode.SessionEnded, 'session ended');
    if (!cookie?.session) throw new ConnectionRefused(CloseCode.AuthenticationRequired, 'bad bearer token');
    return { user: cookie.session.user, sessionId: cookie.session.id };
  };
}

/**
 * The session of an HTTP request: its bearer token when it has an Authorization header (a
 * client that is not a browser), else its cookie. `null` for none, a bad one or an ended one.
 */
export async function requestSession(request: Request, sessions: SessionCookies): Promise<Session | null> {
  const authorization = request.headers.get('authorization');
  if (authorization === null) return sessions.read(request.headers.get('cookie'));
  const token = bearerToken({ headers: { authorization } });
  return token === null ? null : sessions.read(`${sessions.cookieName}=${token}`);
}

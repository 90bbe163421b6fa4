import { timingSafeEqual } from 'node:crypto';
import { normaliseDisplayName, SYSTEM_USER } from './identity';
import { requestSession } from './chat-identity';
import { crossSite, noStore, problem, refusal } from './http-answers';
import { ADMIN_BODY_MAX_BYTES, readJsonBody, SESSION_BODY_MAX_BYTES } from './json-body';
import { notifyUser } from './notifications';
import { isMessageId, isValidRoomName, type NotificationFrame, validateClientFrame } from './protocol';
import type { ChatRuntime } from './runtime';

/**
 * The chat's HTTP endpoints as plain `Request → Response` functions, so they are tested without
 * Next; the files under app/api only pass the runtime and route parameters in. Every body is
 * `application/json` within its route's cap (json-body.ts): 415 and 413 otherwise, before the
 * body is buffered or parsed.
 */

/**
 * `POST /api/rooms/<room>/announce` with `Authorization: Bearer <ADMIN_TOKEN>` and
 * `{"message": "..."}`: stores the message as the system user and sends it to the room.
 * 404 while no admin token is configured, so the route does not even appear to exist.
 */
export async function announce(request: Request, room: string, runtime: ChatRuntime): Promise<Response> {
  if (runtime.adminToken === null) return problem(404, 'not_found', 'no such route');
  if (!bearerMatches(request.headers.get('authorization'), runtime.adminToken)) {
    return problem(401, 'unauthorized', 'a valid bearer token is required', { 'www-authenticate': 'Bearer' });
  }
  if (!isValidRoomName(room)) return problem(404, 'not_found', 'no such room name');
  // A private room that nobody made does not come into being by an announcement.
  if ((await runtime.access.kind(room)) === null) return problem(404, 'not_found', 'no such room');
  const body = await readJsonBody(request, ADMIN_BODY_MAX_BYTES).catch(refusal);
  if (body instanceof Response) return body;
  const parsed = validateClientFrame(typeof body === 'object' && body !== null ? { message: (body as { message?: unknown }).message } : body);
  if (!parsed.ok) return problem(400, parsed.error.code, parsed.error.detail);
  if (parsed.frame.type !== 'chat.message') return problem(400, 'invalid_message', 'message must be a string');
  try {
    const { frame } = await runtime.service.post(room, SYSTEM_USER, parsed.frame.message);
    return Response.json(frame, { status: 201 });
  } catch {
    return problem(503, 'unavailable', 'the message could not be stored; try again');
  }
}

/**
 * `DELETE /api/rooms/<room>/messages/<id>` with the admin bearer token: deletes any message (a
 * moderator's deletion, by the system user): its text is wiped from the store, the deletion is
 * sent to the room, its mention notifications retracted. 204; 404 for no such message (or room,
 * or while no admin token is configured); 409 `deleted` when it was already.
 */
export async function deleteMessage(request: Request, room: string, id: string, runtime: ChatRuntime): Promise<Response> {
  if (runtime.adminToken === null) return problem(404, 'not_found', 'no such route');
  if (!bearerMatches(request.headers.get('authorization'), runtime.adminToken)) {
    return problem(401, 'unauthorized', 'a valid bearer token is required', { 'www-authenticate': 'Bearer' });
  }
  if (!isValidRoomName(room) || !isMessageId(id)) return problem(404, 'not_found', 'no such message');
  if ((await runtime.access.kind(room)) === null) return problem(404, 'not_found', 'no such room');
  try {
    const outcome = await runtime.service.remove(room, SYSTEM_USER, id, true);
    if (outcome.ok) return new Response(null, { status: 204 });
    return problem(outcome.code === 'deleted' ? 409 : 404, outcome.code, outcome.detail);
  } catch {
    return problem(503, 'unavailable', 'the message could not be deleted; try again');
  }
}

/**
 * `POST /api/users/<user id>/notify` with the admin bearer token and `{"title", "body"}`: pushes a
 * notification to every open tab of that user, through the live channel layer. The example of
 * sending to consumers from a route handler.
 */
export async function notify(request: Request, userId: string, runtime: ChatRuntime): Promise<Response> {
  if (runtime.adminToken === null) return problem(404, 'not_found', 'no such route');
  if (!bearerMatches(request.headers.get('authorization'), runtime.adminToken)) {
    return problem(401, 'unauthorized', 'a valid bearer token is required', { 'www-authenticate': 'Bearer' });
  }
  const body = await readJsonBody(request, ADMIN_BODY_MAX_BYTES).catch(refusal);
  if (body instanceof Response) return body;
  const { title, body: text } = (typeof body === 'object' && body !== null ? body : {}) as { title?: unknown; body?: unknown };
  if (typeof title !== 'string' || title.trim() === '' || typeof text !== 'string' || [...title].length > 200 || [...text].length > 2000) {
    return problem(400, 'invalid_message', 'the body must be {"title": string (1-200), "body": string (0-2000)}');
  }
  const frame: NotificationFrame = { type: 'notification', kind: 'message', title, body: text, ts: Date.now() };
  await notifyUser(runtime.layer, userId, frame);
  return new Response(null, { status: 202 });
}

/** `GET /api/session`: who this browser is. Never stored by a cache, as every session answer. */
export async function currentSession(request: Request, runtime: ChatRuntime): Promise<Response> {
  const session = await requestSession(request, runtime.sessions);
  if (!session) return noStore(problem(401, 'no_session', 'no valid session cookie; load a page first'));
  const account = await runtime.accounts.account(session.user.id);
  return noStore(Response.json({ user_id: session.user.id, user: session.user.name, account: account ? { username: account.username } : null }));
}

/**
 * `POST /api/session` with `{"name": "..."}`: sets the display name, keeping the user id and the
 * session. Only pages of an allowed origin may do it (the Origin header is checked, as for sockets).
 */
export async function renameSession(request: Request, runtime: ChatRuntime): Promise<Response> {
  return noStore(await rename(request, runtime));
}

async function rename(request: Request, runtime: ChatRuntime): Promise<Response> {
  const refused = crossSite(request, runtime.allowedOrigins);
  if (refused) return refused;
  const session = await requestSession(request, runtime.sessions);
  if (!session) return problem(401, 'no_session', 'no valid session cookie; load a page first');
  if (await runtime.accounts.account(session.user.id)) return problem(409, 'account_name', 'a signed-in person is shown by their user name');
  const body = await readJsonBody(request, SESSION_BODY_MAX_BYTES).catch(refusal);
  if (body instanceof Response) return body;
  const name = normaliseDisplayName(typeof body === 'object' && body !== null ? (body as { name?: unknown }).name : undefined);
  if (!name.ok) return problem(400, 'invalid_name', name.error);
  const renamed = { id: session.id, user: { id: session.user.id, name: name.name } };
  return Response.json(
    { user_id: renamed.user.id, user: renamed.user.name },
    { headers: { 'set-cookie': runtime.sessions.setCookieHeader(renamed) } },
  );
}

/**
 * `DELETE /api/session`: signs this browser out. The session is revoked (its cookie is refused
 * from now on, everywhere), its open sockets in every process close with 4401, and the cookie is
 * cleared: the next page load starts a new guest session. Origin-checked like the POST.
 */
export async function endSession(request: Request, runtime: ChatRuntime): Promise<Response> {
  const refused = crossSite(request, runtime.allowedOrigins);
  if (refused) return noStore(refused);
  const session = await requestSession(request, runtime.sessions);
  if (session) await runtime.accounts.signOut(session, runtime.layer);
  return noStore(new Response(null, { status: 204, headers: { 'set-cookie': runtime.sessions.clearCookieHeader() } }));
}

function bearerMatches(header: string | null, token: string): boolean {
  const match = /^Bearer\s+(.+)$/i.exec(header ?? '');
  if (!match) return false;
  const given = Buffer.from(match[1]!.trim());
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

import type { Session } from 'next-channels';
import { requestSession } from './chat-identity';
import { messageFrame } from './chat-service';
import { bodyFields, crossSite, noStore, problem, refusal } from './http-answers';
import { readJsonBody, SESSION_BODY_MAX_BYTES } from './json-body';
import { isValidRoomName } from './protocol';
import { Refused } from './refused';
import type { RoomListItem } from './rooms';
import type { ChatRuntime } from './runtime';
import type { Account } from './store/directory';

/**
 * The chat's room routes: the room list, private rooms, members, invitation links and direct
 * messages. Every answer is about the person of the session cookie and is never cached; every
 * state-changing one is same-origin only and takes `application/json` within 4 KiB. To anyone
 * who is not a member, a private room is `404 not_found`, exactly as a room nobody made.
 */

/** `GET /api/rooms`: my rooms, most recent first, with the last message and the unread count. */
export function listRooms(request: Request, runtime: ChatRuntime): Promise<Response> {
  return personal(request, runtime, async (session) => {
    const rooms = await runtime.rooms.list(session.user.id);
    return Response.json({ rooms: rooms.map(listItem) });
  });
}

/** `POST /api/rooms` with `{"title"}`: 201, a new private room (signed-in people only). */
export function createRoom(request: Request, runtime: ChatRuntime): Promise<Response> {
  return change(request, runtime, async (session, body) => {
    const account = await signedIn(session, runtime);
    const record = await runtime.rooms.createPrivate(account, bodyFields(body).title);
    return Response.json({ room: record.room, kind: record.kind, title: record.title }, { status: 201 });
  });
}

/** `GET /api/rooms/<room>`: the room, and for a private room or direct message its members. */
export function roomDetails(request: Request, room: string, runtime: ChatRuntime): Promise<Response> {
  return personal(request, runtime, async (session) => {
    const details = isValidRoomName(room) ? await runtime.rooms.details(room, session.user.id) : null;
    if (!details) return notFound();
    const { record, role, members } = details;
    if (record.kind === 'public') return Response.json({ room, kind: 'public', title: '' });
    return Response.json({
      room,
      kind: record.kind,
      title: record.title,
      role,
      owner_id: record.ownerId,
      members: members.map((member) => ({ user_id: member.userId, user: member.name, role: member.role })),
    });
  });
}

/** `POST /api/rooms/<room>/members` with `{"username"}`: the owner adds someone (201; 200 when they were in already). */
export function addMember(request: Request, room: string, runtime: ChatRuntime): Promise<Response> {
  return change(request, runtime, async (session, body) => {
    const account = await signedIn(session, runtime);
    const { member, added } = await runtime.rooms.inviteByUsername(roomName(room), account, bodyFields(body).username);
    return Response.json({ user_id: member.userId, user: member.username }, { status: added ? 201 : 200 });
  });
}

/** `DELETE /api/rooms/<room>/members/<user id>`: the owner removes someone, or a member leaves (204). */
export function removeMember(request: Request, room: string, userId: string, runtime: ChatRuntime): Promise<Response> {
  return change(
    request,
    runtime,
    async (session) => {
      await runtime.rooms.removeMember(roomName(room), session.user.id, userId, runtime.layer);
      return new Response(null, { status: 204 });
    },
    false,
  );
}

/** `POST /api/rooms/<room>/invites` with `{}`: 201, a new invitation link (owner only); its token is shown this once. */
export function createInvite(request: Request, room: string, runtime: ChatRuntime): Promise<Response> {
  return change(
    request,
    runtime,
    async (session) => {
      const invite = await runtime.rooms.createInvite(roomName(room), session.user.id);
      return Response.json({ id: invite.id, token: invite.token, path: `/invite/${invite.token}`, expires_at: invite.expiresAt }, { status: 201 });
    },
  );
}

/** `GET /api/rooms/<room>/invites`: the room's working links, without their tokens (owner only). */
export function listInvites(request: Request, room: string, runtime: ChatRuntime): Promise<Response> {
  return personal(request, runtime, async (session) => {
    const invites = await runtime.rooms.invites(roomName(room), session.user.id);
    return Response.json({ invites: invites.map(({ id, invite }) => ({ id, created_at: invite.createdAt, expires_at: invite.expiresAt })) });
  });
}

/** `DELETE /api/rooms/<room>/invites/<id>`: the link stops working (204; owner only). */
export function revokeInvite(request: Request, room: string, id: string, runtime: ChatRuntime): Promise<Response> {
  return change(
    request,
    runtime,
    async (session) => {
      await runtime.rooms.revokeInvite(roomName(room), session.user.id, id);
      return new Response(null, { status: 204 });
    },
    false,
  );
}

/** `GET /api/invites/<token>`: the title of the room a link invites to; 404 for an unknown, expired or revoked one. */
export function showInvite(request: Request, token: string, runtime: ChatRuntime): Promise<Response> {
  return personal(request, runtime, async () => {
    const record = await runtime.rooms.invitation(token);
    return record ? Response.json({ room: record.room, title: record.title }) : notFound();
  });
}

/** `POST /api/invites/<token>` with `{}`: joins the room of the link (signed-in people only). */
export function acceptInvite(request: Request, token: string, runtime: ChatRuntime): Promise<Response> {
  return change(
    request,
    runtime,
    async (session) => {
      const record = await runtime.rooms.acceptInvite(token, await signedIn(session, runtime));
      return Response.json({ room: record.room, title: record.title });
    },
  );
}

/** `POST /api/dms` with `{"user_id"}`: the direct-message room with that person, made if new. */
export function openDirect(request: Request, runtime: ChatRuntime): Promise<Response> {
  return change(request, runtime, async (session, body) => {
    const room = await runtime.rooms.openDirect(await signedIn(session, runtime), bodyFields(body).user_id);
    return Response.json({ room });
  });
}

/** Answers a read about the session's person; 401 without a session. */
async function personal(request: Request, runtime: ChatRuntime, work: (session: Session) => Promise<Response>): Promise<Response> {
  try {
    const session = await requestSession(request, runtime.sessions);
    if (!session) return noStore(problem(401, 'no_session', 'no valid session cookie; load a page first'));
    return noStore(await work(session));
  } catch (error) {
    return noStore(refusal(error));
  }
}

/** A change: same-origin only, then the body (when it takes one), then the session. */
async function change(
  request: Request,
  runtime: ChatRuntime,
  work: (session: Session, body: unknown) => Promise<Response>,
  takesBody = true,
): Promise<Response> {
  const refused = crossSite(request, runtime.allowedOrigins);
  if (refused) return noStore(refused);
  try {
    const body = takesBody ? await readJsonBody(request, SESSION_BODY_MAX_BYTES) : null;
    const session = await requestSession(request, runtime.sessions);
    if (!session) return noStore(problem(401, 'no_session', 'no valid session cookie; load a page first'));
    return noStore(await work(session, body));
  } catch (error) {
    return noStore(refusal(error));
  }
}

async function signedIn(session: Session, runtime: ChatRuntime): Promise<Account> {
  const account = await runtime.accounts.account(session.user.id);
  if (!account) throw new Refused(401, 'sign_in_required', 'sign in (or sign up) first: private rooms and direct messages are for signed-in people');
  return account;
}

function roomName(room: string): string {
  if (!isValidRoomName(room)) throw new Refused(404, 'not_found', 'no such room');
  return room;
}

function notFound(): Response {
  return problem(404, 'not_found', 'no such room');
}

function listItem(item: RoomListItem) {
  return {
    room: item.room,
    kind: item.kind,
    title: item.title,
    role: item.role,
    unread: item.unread,
    last_read_id: item.lastReadId,
    last: item.last ? messageFrame(item.last) : null,
    peer: item.peer ? { user_id: item.peer.userId, user: item.peer.name } : null,
  };
}

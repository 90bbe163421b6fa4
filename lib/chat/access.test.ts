/**
 * Who may be where, through the chat's real routes and consumers (memory store, in-memory layer):
 * every path of a private room tried by a member, a non-member, a removed member, a guest and a
 * client with no cookie; invitations, direct messages, the room list.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CloseCode, newSessionId } from 'next-channels';
import { WebsocketCommunicator } from 'next-channels/testing';
import { directRoomName } from './access';
import { issueTicket, signIn, signUp } from './account-routes';
import { announce, deleteMessage, endSession } from './http-routes';
import { newGuest } from './identity';
import type { ChatMessageFrame, NotificationFrame, RetractFrame } from './protocol';
import { chatWorld, cookieOf, TEST_ORIGIN } from './test-world';
import { acceptInvite, addMember, createInvite, createRoom, listRooms, openDirect, removeMember, revokeInvite, roomDetails } from './room-routes';

const ORIGIN = TEST_ORIGIN;
const TOKEN = 'admin-token-0123456789';

function world() {
  const { chat, app, layer, store, sessions, advance } = chatWorld({ adminToken: TOKEN, readIntervalMs: 0 });
  const guestCookie = (): string => cookieOf(sessions.setCookieHeader({ id: newSessionId(), user: newGuest() }));
  const request = (method: string, cookie: string | null, body?: unknown, headers: Record<string, string> = {}): Request =>
    new Request('http://localhost:3000/api/x', {
      method,
      headers: { origin: ORIGIN, 'x-chat-client-address': '198.51.100.7', ...(cookie ? { cookie } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  /** Signs a new person up from a guest session: their cookie and user id. */
  const person = async (username: string): Promise<{ cookie: string; userId: string }> => {
    const response = await signUp(request('POST', guestCookie(), { username, password: 'correct horse 马' }), chat);
    assert.equal(response.status, 201, await response.clone().text());
    const body = (await response.json()) as { user_id: string };
    return { cookie: cookieOf(response.headers.get('set-cookie')!), userId: body.user_id };
  };
  const socket = (path: string, cookie: string | null): WebsocketCommunicator =>
    new WebsocketCommunicator(app, path, { layer, headers: { origin: ORIGIN, ...(cookie ? { cookie } : {}) } });
  /** Connects and reads welcome, history and presence. */
  const join = async (room: string, cookie: string | null, query = ''): Promise<WebsocketCommunicator> => {
    const client = socket(`/ws/chat/${room}/${query}`, cookie);
    await client.connect();
    const first = await client.receiveJson<{ type: string }>();
    assert.equal(first.type, 'welcome');
    assert.equal((await client.receiveJson<{ type: string }>()).type, 'history');
    assert.equal((await client.receiveJson<{ type: string }>()).type, 'presence');
    return client;
  };
  /** Connects and expects the close a browser can read, and nothing of the room before it. */
  const refused = async (room: string, cookie: string | null, query = '', headers: Record<string, string> = {}): Promise<number> => {
    const client = new WebsocketCommunicator(app, `/ws/chat/${room}/${query}`, { layer, headers: { origin: ORIGIN, ...(cookie ? { cookie } : {}), ...headers } });
    await client.connect();
    return client.receiveClose();
  };
  const privateRoom = async (owner: string, title = '项目 Alpha'): Promise<string> => {
    const response = await createRoom(request('POST', owner, { title }), chat);
    assert.equal(response.status, 201);
    return ((await response.json()) as { room: string }).room;
  };
  return { chat, app, layer, store, sessions, request, person, guestCookie, socket, join, refused, privateRoom, advance };
}

async function problemOf(response: Response): Promise<[number, string]> {
  return [response.status, ((await response.json()) as { error: string }).error];
}

describe('private rooms, through sockets and routes', () => {
  it('opens a private room to its members only; to anyone else it is a room that does not exist', async () => {
    const w = world();
    const ana = await w.person('ana');
    const bo = await w.person('bo');
    const room = await w.privateRoom(ana.cookie);
    assert.match(room, /^_p[A-Za-z0-9_-]{22}$/);
    const member = await w.join(room, ana.cookie);
    member.sendJson({ type: 'chat.message', message: '只给成员看', client_id: 'c1' });
    assert.equal((await member.receiveJson<ChatMessageFrame>()).message, '只给成员看');

    for (const cookie of [bo.cookie, w.guestCookie(), null]) {
      assert.equal(await w.refused(room, cookie), CloseCode.NotFound);
      assert.equal(await w.refused(room, cookie, '?after=0'), CloseCode.NotFound);
      assert.equal(await w.refused('_pnobodymadethisroom00000', cookie), CloseCode.NotFound);
    }
    // The routes say the same of it as of a room nobody made.
    const asBo = await roomDetails(w.request('GET', bo.cookie), room, w.chat);
    const nothing = await roomDetails(w.request('GET', bo.cookie), '_pnobodymadethisroom00000', w.chat);
    assert.deepEqual([asBo.status, await asBo.text()], [nothing.status, await nothing.text()]);
    assert.equal(asBo.status, 404);
    // Nor does the room list of a non-member show it.
    const list = (await (await listRooms(w.request('GET', bo.cookie), w.chat)).json()) as { rooms: unknown[] };
    assert.deepEqual(list.rooms, []);
  });

  it('lets the owner add a member by user name; a removed member is closed at once and kept out', async () => {
    const w = world();
    const ana = await w.person('ana');
    const bo = await w.person('Bo_波');
    const room = await w.privateRoom(ana.cookie);
    assert.deepEqual(await problemOf(await addMember(w.request('POST', ana.cookie, { username: 'nobody' }), room, w.chat)), [404, 'unknown_user']);
    const added = await addMember(w.request('POST', ana.cookie, { username: 'bo_波' }), room, w.chat);
    assert.equal(added.status, 201);
    assert.deepEqual(await added.json(), { user_id: bo.userId, user: 'Bo_波' });
    // A member may not add people nor remove others.
    assert.deepEqual(await problemOf(await addMember(w.request('POST', bo.cookie, { username: 'ana' }), room, w.chat)), [403, 'forbidden']);
    assert.deepEqual(await problemOf(await removeMember(w.request('DELETE', bo.cookie), room, ana.userId, w.chat)), [403, 'forbidden']);

    const details = (await (await roomDetails(w.request('GET', bo.cookie), room, w.chat)).json()) as { title: string; role: string; members: Array<{ user: string; role: string }> };
    assert.equal(details.title, '项目 Alpha');
    assert.equal(details.role, 'member');
    assert.deepEqual(details.members.map((member) => [member.user, member.role]), [['ana', 'owner'], ['Bo_波', 'member']]);

    const boSocket = await w.join(room, bo.cookie);
    const anaSocket = await w.join(room, ana.cookie);
    assert.equal((await boSocket.receiveJson<{ type: string }>()).type, 'presence');
    assert.equal((await removeMember(w.request('DELETE', ana.cookie), room, bo.userId, w.chat)).status, 204);
    assert.equal(await boSocket.receiveClose(), CloseCode.Forbidden);
    // Ana stays; Bo cannot come back, nor read it any other way.
    anaSocket.sendJson({ type: 'chat.message', message: 'after', client_id: 'a1' });
    let frame: { type: string; message?: string };
    do frame = await anaSocket.receiveJson();
    while (frame.type === 'presence');
    assert.equal(frame.message, 'after');
    assert.equal(await w.refused(room, bo.cookie, '?after=0'), CloseCode.NotFound);
    assert.equal((await roomDetails(w.request('GET', bo.cookie), room, w.chat)).status, 404);
    assert.deepEqual(await problemOf(await removeMember(w.request('DELETE', ana.cookie), room, ana.userId, w.chat)), [409, 'owner_cannot_leave']);
  });

  it('keeps a signed-out member out of every path: socket, resume, details, list', async () => {
    const w = world();
    const ana = await w.person('ana');
    const bo = await w.person('bo');
    const room = await w.privateRoom(ana.cookie);
    await addMember(w.request('POST', ana.cookie, { username: 'bo' }), room, w.chat);
    const open = await w.join(room, bo.cookie);
    const out = await endSession(w.request('DELETE', bo.cookie), w.chat);
    assert.equal(out.status, 204);
    assert.equal(await open.receiveClose(), CloseCode.SessionEnded);
    assert.equal(await w.refused(room, bo.cookie), CloseCode.SessionEnded);
    assert.equal(await w.refused(room, bo.cookie, '?after=0'), CloseCode.SessionEnded);
    assert.deepEqual(await problemOf(await roomDetails(w.request('GET', bo.cookie), room, w.chat)), [401, 'no_session']);
    assert.deepEqual(await problemOf(await listRooms(w.request('GET', bo.cookie), w.chat)), [401, 'no_session']);
    // A forged cookie is no session at all: a guest, to whom the room does not exist.
    assert.equal(await w.refused(room, `${bo.cookie.slice(0, -2)}xx`), CloseCode.NotFound);
  });

  it('lets a member leave, which closes their sockets in the room', async () => {
    const w = world();
    const ana = await w.person('ana');
    const bo = await w.person('bo');
    const room = await w.privateRoom(ana.cookie);
    await addMember(w.request('POST', ana.cookie, { username: 'bo' }), room, w.chat);
    const boSocket = await w.join(room, bo.cookie);
    assert.equal((await removeMember(w.request('DELETE', bo.cookie), room, bo.userId, w.chat)).status, 204);
    assert.equal(await boSocket.receiveClose(), CloseCode.Forbidden);
  });

  it('tells of a mention only people who may read the room', async () => {
    const w = world();
    const ana = await w.person('ana');
    const bo = await w.person('bo');
    const room = await w.privateRoom(ana.cookie);
    await addMember(w.request('POST', ana.cookie, { username: 'bo' }), room, w.chat);
    const boSocket = await w.join(room, bo.cookie);
    boSocket.sendJson({ type: 'chat.message', message: 'hi', client_id: 'b1' });
    await boSocket.receiveJson();
    const notifications = w.socket('/ws/notifications/', bo.cookie);
    await notifications.connect();
    const anaSocket = await w.join(room, ana.cookie);

    anaSocket.sendJson({ type: 'chat.message', message: '@bo 看这里', client_id: 'a1' });
    const mention = await notifications.receiveJson<NotificationFrame>();
    assert.deepEqual([mention.kind, mention.title], ['mention', 'ana mentioned you in "项目 Alpha"']);
    assert.deepEqual([mention.from, mention.room_kind, mention.room_title], ['ana', 'private', '项目 Alpha']);

    await removeMember(w.request('DELETE', ana.cookie), room, bo.userId, w.chat);
    // Bo is still among the room's recent authors: the mention must stop at the access check.
    anaSocket.sendJson({ type: 'chat.message', message: '@bo 秘密', client_id: 'a2' });
    let echoed: { type: string; client_id?: string };
    do echoed = await anaSocket.receiveJson();
    while (echoed.client_id !== 'a2');
    assert.equal(await notifications.receiveNothing({ timeoutMs: 50 }), true);
  });

  it('lets an admin announce into a private room, and not into one nobody made', async () => {
    const w = world();
    const ana = await w.person('ana');
    const room = await w.privateRoom(ana.cookie);
    const auth = { authorization: `Bearer ${TOKEN}` };
    assert.equal((await announce(w.request('POST', null, { message: 'x' }, auth), room, w.chat)).status, 201);
    assert.equal((await announce(w.request('POST', null, { message: 'x' }, auth), '_pnobodymadethisroom00000', w.chat)).status, 404);
    assert.equal((await w.store.latest('_pnobodymadethisroom00000', 10)).messages.length, 0);
  });
});

describe('deleting and changing messages, through sockets and routes', () => {
  /** Reads frames until one of `type` (skipping presence and others' messages). */
  const until = async <T extends { type: string }>(socket: WebsocketCommunicator, type: string): Promise<T> => {
    for (;;) {
      const frame = await socket.receiveJson<T>();
      if (frame.type === type) return frame;
    }
  };

  it("lets a private room's owner delete any message there, a member only their own, and nobody else anything", async () => {
    const w = world();
    const ana = await w.person('ana');
    const bo = await w.person('bo');
    const cy = await w.person('cy');
    const room = await w.privateRoom(ana.cookie);
    await addMember(w.request('POST', ana.cookie, { username: 'bo' }), room, w.chat);
    const boSocket = await w.join(room, bo.cookie);
    boSocket.sendJson({ message: '波的悄悄话' });
    await until(boSocket, 'chat.message');
    const anaSocket = await w.join(room, ana.cookie);
    anaSocket.sendJson({ message: '安的话' });
    await until(anaSocket, 'chat.message');

    boSocket.sendJson({ type: 'chat.delete', id: '2', client_id: 'd1' });
    const refused = await until<{ type: string; code: string; client_id: string }>(boSocket, 'error');
    assert.deepEqual([refused.code, refused.client_id], ['forbidden', 'd1']);
    anaSocket.sendJson({ type: 'chat.delete', id: '1' });
    assert.equal((await until<{ type: string; target: string }>(anaSocket, 'chat.delete')).target, '1');
    assert.equal((await until<{ type: string; target: string }>(boSocket, 'chat.delete')).target, '1');
    assert.equal(JSON.stringify(await w.store.after(room, '0', 10)).includes('悄悄话'), false, 'gone from the store');

    const stranger = { id: cy.userId, name: 'cy' };
    assert.equal((await w.chat.service.edit(room, stranger, '2', 'x')).ok, false);
    assert.deepEqual(await w.chat.service.remove(room, stranger, '2'), { ok: false, code: 'not_found', detail: 'no such message in this room' });
    assert.deepEqual(await w.chat.service.react(room, stranger, '2', '👍').then((outcome) => (outcome.ok ? 'stored' : outcome.code)), 'not_found');
    assert.equal((await w.store.message(room, '2'))?.text, '安的话');
  });

  it('lets an admin delete any message by route, retracting the mentions it made', async () => {
    const w = world();
    const ana = await w.person('ana');
    const bo = await w.person('bo');
    const auth = { authorization: `Bearer ${TOKEN}` };
    const boSocket = await w.join('lobby', bo.cookie);
    boSocket.sendJson({ message: 'here' });
    await until(boSocket, 'chat.message');
    const notifications = w.socket('/ws/notifications/', bo.cookie);
    await notifications.connect();
    const anaSocket = await w.join('lobby', ana.cookie);
    anaSocket.sendJson({ message: '@bo 你的密码是 1234' });
    const mention = await notifications.receiveJson<NotificationFrame>();
    assert.equal(mention.message_id, '2');

    assert.equal((await deleteMessage(w.request('DELETE', null), 'lobby', '2', w.chat)).status, 401);
    assert.deepEqual(await problemOf(await deleteMessage(w.request('DELETE', null, undefined, auth), 'lobby', '9', w.chat)), [404, 'not_found']);
    assert.deepEqual(await problemOf(await deleteMessage(w.request('DELETE', null, undefined, auth), 'lobby', 'x', w.chat)), [404, 'not_found']);
    assert.equal((await deleteMessage(w.request('DELETE', null, undefined, auth), 'lobby', '2', w.chat)).status, 204);
    assert.deepEqual(await notifications.receiveJson<RetractFrame>(), { type: 'notification.retract', room: 'lobby', message_id: '2' });
    const deletion = await until<{ type: string; target: string; user_id: string }>(boSocket, 'chat.delete');
    assert.deepEqual([deletion.target, deletion.user_id], ['2', 'system']);
    assert.deepEqual(await problemOf(await deleteMessage(w.request('DELETE', null, undefined, auth), 'lobby', '2', w.chat)), [409, 'deleted']);
    assert.equal(JSON.stringify(await w.store.after('lobby', '0', 10)).includes('1234'), false);
  });

  it('takes back the mention notifications of a message when it is edited, since they quote the old text', async () => {
    const w = world();
    const ana = await w.person('ana');
    const bo = await w.person('bo');
    const boSocket = await w.join('lobby', bo.cookie);
    boSocket.sendJson({ message: 'here' });
    await until(boSocket, 'chat.message');
    const notifications = w.socket('/ws/notifications/', bo.cookie);
    await notifications.connect();
    const anaSocket = await w.join('lobby', ana.cookie);
    anaSocket.sendJson({ message: '@bo 旧的说法', client_id: 'c1' });
    const sent = await until<ChatMessageFrame>(anaSocket, 'chat.message');
    assert.equal((await notifications.receiveJson<NotificationFrame>()).body, '@bo 旧的说法');
    anaSocket.sendJson({ type: 'chat.edit', id: sent.id, text: '@bo 新的说法', client_id: 'e1' });
    assert.deepEqual(await notifications.receiveJson<RetractFrame>(), { type: 'notification.retract', room: 'lobby', message_id: sent.id });
    // The edit notifies nobody again.
    assert.equal((await until<{ type: string; text: string }>(boSocket, 'chat.edit')).text, '@bo 新的说法');
    assert.equal(await notifications.receiveNothing({ timeoutMs: 50 }), true);
  });
});

describe('tickets and bearer tokens', () => {
  const ticketFor = async (w: ReturnType<typeof world>, cookie: string): Promise<string> => {
    const response = await issueTicket(w.request('POST', cookie, {}), w.chat);
    assert.equal(response.status, 201);
    return ((await response.json()) as { ticket: string }).ticket;
  };
  const welcomed = async (w: ReturnType<typeof world>, room: string, query: string, headers: Record<string, string>): Promise<{ user_id: string }> => {
    const client = new WebsocketCommunicator(w.app, `/ws/chat/${room}/${query}`, { layer: w.layer, headers: { origin: ORIGIN, ...headers } });
    await client.connect();
    return client.receiveJson();
  };

  it('lets a ticket in once, as its session; a replayed, forged or ended one is refused, a non-member is not let in', async () => {
    const w = world();
    const ana = await w.person('ana');
    const bo = await w.person('bo');
    const room = await w.privateRoom(ana.cookie);
    const ticket = await ticketFor(w, ana.cookie);
    assert.equal((await welcomed(w, room, `?ticket=${ticket}`, {})).user_id, ana.userId);
    assert.equal(await w.refused(room, null, `?ticket=${ticket}`), CloseCode.AuthenticationRequired, 'replayed');
    assert.equal(await w.refused(room, null, `?ticket=${'A'.repeat(43)}`), CloseCode.AuthenticationRequired, 'forged');
    assert.equal(await w.refused(room, null, '?ticket=x'), CloseCode.AuthenticationRequired, 'malformed');
    // A bad ticket is refused even beside a good cookie: its client meant to be someone.
    assert.equal(await w.refused(room, ana.cookie, `?ticket=${'B'.repeat(43)}`), CloseCode.AuthenticationRequired);
    assert.equal(await w.refused(room, null, `?ticket=${await ticketFor(w, bo.cookie)}`), CloseCode.NotFound, 'a non-member');
    const beforeSignOut = await ticketFor(w, ana.cookie);
    await endSession(w.request('DELETE', ana.cookie), w.chat);
    assert.equal(await w.refused(room, null, `?ticket=${beforeSignOut}`), CloseCode.SessionEnded);
    assert.deepEqual(await problemOf(await issueTicket(w.request('POST', ana.cookie, {}), w.chat)), [401, 'no_session']);
  });

  it('takes the session as a bearer token, on sockets and routes, without an Origin; a bad token is refused', async () => {
    const w = world();
    const ana = await w.person('ana');
    const room = await w.privateRoom(ana.cookie);
    const token = ana.cookie.slice(ana.cookie.indexOf('=') + 1);
    assert.equal((await welcomed(w, room, '', { authorization: `Bearer ${token}` })).user_id, ana.userId);
    assert.equal(await w.refused(room, null, '', { authorization: `Bearer ${token.slice(0, -2)}xx` }), CloseCode.AuthenticationRequired);
    assert.equal(await w.refused(room, null, '', { authorization: 'Basic abc' }), CloseCode.AuthenticationRequired);
    // A bad token is not traded for the cookie beside it.
    assert.equal(await w.refused(room, ana.cookie, '', { authorization: 'Bearer nope' }), CloseCode.AuthenticationRequired);

    const api = (method: string, authorization: string, body?: unknown): Request =>
      new Request('http://localhost:3000/api/x', {
        method,
        headers: { authorization, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    assert.equal((await listRooms(api('GET', `Bearer ${token}`), w.chat)).status, 200);
    assert.equal((await createRoom(api('POST', `Bearer ${token}`, { title: 'from a script' }), w.chat)).status, 201);
    assert.deepEqual(await problemOf(await createRoom(api('POST', 'Bearer nope', { title: 'x' }), w.chat)), [401, 'no_session']);
  });
});

describe('invitation links', () => {
  it('joins a signed-in person to the room; a revoked, expired or forged link is not found', async () => {
    const w = world();
    const ana = await w.person('ana');
    const cy = await w.person('cy');
    const room = await w.privateRoom(ana.cookie);
    const made = await createInvite(w.request('POST', ana.cookie, {}), room, w.chat);
    assert.equal(made.status, 201);
    const invite = (await made.json()) as { id: string; token: string; path: string };
    assert.equal(invite.path, `/invite/${invite.token}`);
    // Only the owner makes links; a guest cannot use one.
    assert.equal((await createInvite(w.request('POST', cy.cookie, {}), room, w.chat)).status, 404);
    assert.deepEqual(await problemOf(await acceptInvite(w.request('POST', w.guestCookie(), {}), invite.token, w.chat)), [401, 'sign_in_required']);

    const joined = await acceptInvite(w.request('POST', cy.cookie, {}), invite.token, w.chat);
    assert.deepEqual(await joined.json(), { room, title: '项目 Alpha' });
    await w.join(room, cy.cookie);

    const other = (await (await createInvite(w.request('POST', ana.cookie, {}), room, w.chat)).json()) as { id: string; token: string };
    assert.equal((await revokeInvite(w.request('DELETE', ana.cookie), room, other.id, w.chat)).status, 204);
    const dan = await w.person('dan');
    assert.equal((await acceptInvite(w.request('POST', dan.cookie, {}), other.token, w.chat)).status, 404);
    assert.equal((await acceptInvite(w.request('POST', dan.cookie, {}), 'A'.repeat(43), w.chat)).status, 404);
    w.advance(8 * 86_400_000);
    assert.equal((await acceptInvite(w.request('POST', dan.cookie, {}), invite.token, w.chat)).status, 404);
    assert.equal(await w.refused(room, dan.cookie), CloseCode.NotFound);
  });
});

describe('direct messages', () => {
  it('is one room of exactly two, whoever opens it first, closed to everyone else', async () => {
    const w = world();
    const ana = await w.person('ana');
    const bo = await w.person('bo');
    const cy = await w.person('cy');
    const first = (await (await openDirect(w.request('POST', bo.cookie, { user_id: ana.userId }), w.chat)).json()) as { room: string };
    const second = (await (await openDirect(w.request('POST', ana.cookie, { user_id: bo.userId }), w.chat)).json()) as { room: string };
    assert.equal(first.room, second.room);
    assert.equal(first.room, directRoomName(ana.userId, bo.userId));
    await w.join(first.room, ana.cookie);
    await w.join(first.room, bo.cookie);
    assert.equal(await w.refused(first.room, cy.cookie), CloseCode.NotFound);
    assert.equal(await w.refused(first.room, w.guestCookie()), CloseCode.NotFound);

    const guest = w.guestCookie();
    assert.deepEqual(await problemOf(await openDirect(w.request('POST', guest, { user_id: ana.userId }), w.chat)), [401, 'sign_in_required']);
    assert.deepEqual(await problemOf(await openDirect(w.request('POST', ana.cookie, { user_id: 'u_someguest' }), w.chat)), [404, 'unknown_user']);
    assert.deepEqual(await problemOf(await openDirect(w.request('POST', ana.cookie, { user_id: ana.userId }), w.chat)), [400, 'invalid']);
    assert.deepEqual(await problemOf(await removeMember(w.request('DELETE', ana.cookie), first.room, ana.userId, w.chat)), [409, 'direct_message']);

    const list = (await (await listRooms(w.request('GET', ana.cookie), w.chat)).json()) as { rooms: Array<{ kind: string; peer: unknown }> };
    assert.deepEqual(list.rooms.map((entry) => [entry.kind, entry.peer]), [['direct', { user_id: bo.userId, user: 'bo' }]]);
  });

  it('names a direct message in a mention notification as such, never by its name', async () => {
    const w = world();
    const ana = await w.person('ana');
    const bo = await w.person('bo');
    const { room } = (await (await openDirect(w.request('POST', ana.cookie, { user_id: bo.userId }), w.chat)).json()) as { room: string };
    const notifications = w.socket('/ws/notifications/', bo.cookie);
    await notifications.connect();
    // Mentions reach the room's recent authors (or those in it now).
    const boSocket = await w.join(room, bo.cookie);
    boSocket.sendJson({ type: 'chat.message', message: 'hi', client_id: 'b1' });
    await boSocket.receiveJson();
    const anaSocket = await w.join(room, ana.cookie);
    anaSocket.sendJson({ type: 'chat.message', message: '@bo 你好', client_id: 'a1' });
    const mention = await notifications.receiveJson<NotificationFrame>();
    assert.deepEqual(
      [mention.title, mention.from, mention.room_kind, mention.room_title, mention.room],
      ['ana mentioned you in a direct message', 'ana', 'direct', undefined, room],
    );
  });
});

describe('the room list', () => {
  it('counts what others wrote after my read marker, and the marker moves as the page reads', async () => {
    const w = world();
    const ana = await w.person('ana');
    const bo = await w.person('bo');
    const room = await w.privateRoom(ana.cookie, '读书会');
    await addMember(w.request('POST', ana.cookie, { username: 'bo' }), room, w.chat);
    const anaSocket = await w.join(room, ana.cookie);
    for (let n = 1; n <= 3; n++) {
      anaSocket.sendJson({ type: 'chat.message', message: `第${n}条`, client_id: `a${n}` });
      await anaSocket.receiveJson();
    }
    const list = async (cookie: string) =>
      ((await (await listRooms(w.request('GET', cookie), w.chat)).json()) as { rooms: Array<{ room: string; title: string; unread: number; last: ChatMessageFrame | null }> }).rooms;
    const [forBo] = await list(bo.cookie);
    assert.deepEqual([forBo?.title, forBo?.unread, forBo?.last?.message], ['读书会', 3, '第3条']);
    assert.equal((await list(ana.cookie))[0]?.unread, 0, 'my own messages are not unread');

    const boSocket = await w.join(room, bo.cookie);
    // A marker past what this connection was sent is held to what it was sent.
    // The marker is told back once stored (to every member: see "seen" below).
    boSocket.sendJson({ type: 'read', id: '2' });
    assert.deepEqual(await boSocket.receiveJson(), { type: 'read', user_id: bo.userId, id: '2' });
    assert.equal((await list(bo.cookie))[0]?.unread, 1);
    boSocket.sendJson({ type: 'read', id: '999' });
    assert.deepEqual(await boSocket.receiveJson(), { type: 'read', user_id: bo.userId, id: '3' });
    assert.equal((await list(bo.cookie))[0]?.unread, 0);
    boSocket.sendJson({ type: 'read', id: 'x' });
    assert.equal((await boSocket.receiveJson<{ code: string }>()).code, 'invalid_message');
  });

  it("syncs a public room's read marker to the person's other tabs only, and tells it on joining", async () => {
    const w = world();
    const ana = await w.person('ana');
    const bo = await w.person('bo');
    const tab1 = await w.join('reading', ana.cookie);
    const tab2 = await w.join('reading', ana.cookie);
    const elsewhere = await w.join('elsewhere', ana.cookie);
    const boSocket = await w.join('reading', bo.cookie);
    for (const socket of [tab1, tab2]) assert.equal((await socket.receiveJson<{ type: string }>()).type, 'presence');
    boSocket.sendJson({ type: 'chat.message', message: '读完了吗', client_id: 'b1' });
    const sent = await boSocket.receiveJson<ChatMessageFrame>();
    for (const socket of [tab1, tab2]) assert.equal((await socket.receiveJson<ChatMessageFrame>()).id, sent.id);

    tab1.sendJson({ type: 'read', id: sent.id });
    for (const socket of [tab1, tab2]) assert.deepEqual(await socket.receiveJson(), { type: 'read', user_id: ana.userId, id: sent.id });
    // Not the others of a public room, nor the same person's connection to another room.
    assert.equal(await boSocket.receiveNothing({ timeoutMs: 50 }), true);
    assert.equal(await elsewhere.receiveNothing({ timeoutMs: 50 }), true);
    // The same marker again moves nothing and tells nobody.
    tab2.sendJson({ type: 'read', id: sent.id });
    assert.equal(await tab1.receiveNothing({ timeoutMs: 50 }), true);

    const later = w.socket('/ws/chat/reading/', ana.cookie);
    await later.connect();
    const types: string[] = [];
    let frame: { type: string; user_id?: string; id?: string };
    do {
      frame = await later.receiveJson();
      types.push(frame.type);
    } while (frame.type !== 'read');
    assert.deepEqual(types, ['welcome', 'history', 'read']);
    assert.deepEqual(frame, { type: 'read', user_id: ana.userId, id: sent.id });
  });

  it("tells every member of a private room each other's read markers: live, and on joining", async () => {
    const w = world();
    const ana = await w.person('ana');
    const bo = await w.person('bo');
    const room = await w.privateRoom(ana.cookie, '读书会');
    await addMember(w.request('POST', ana.cookie, { username: 'bo' }), room, w.chat);
    const anaSocket = await w.join(room, ana.cookie);
    anaSocket.sendJson({ type: 'chat.message', message: '第一章', client_id: 'a1' });
    const sent = await anaSocket.receiveJson<ChatMessageFrame>();
    anaSocket.sendJson({ type: 'read', id: sent.id });
    assert.deepEqual(await anaSocket.receiveJson(), { type: 'read', user_id: ana.userId, id: sent.id });

    const boSocket = await w.socket(`/ws/chat/${room}/`, bo.cookie);
    await boSocket.connect();
    assert.equal((await boSocket.receiveJson<{ type: string }>()).type, 'welcome');
    assert.equal((await boSocket.receiveJson<{ type: string }>()).type, 'history');
    // Bo has read nothing yet: only Ana's marker.
    assert.deepEqual(await boSocket.receiveJson(), { type: 'read', user_id: ana.userId, id: sent.id });
    assert.equal((await boSocket.receiveJson<{ type: string }>()).type, 'presence');
    assert.equal((await anaSocket.receiveJson<{ type: string }>()).type, 'presence');
    boSocket.sendJson({ type: 'read', id: sent.id });
    for (const socket of [anaSocket, boSocket]) assert.deepEqual(await socket.receiveJson(), { type: 'read', user_id: bo.userId, id: sent.id });
  });

  it('keeps the public rooms a person opened, guests included', async () => {
    const w = world();
    const guest = w.guestCookie();
    await w.join('lobby', guest);
    await w.join('teahouse', guest);
    const rooms = ((await (await listRooms(w.request('GET', guest), w.chat)).json()) as { rooms: Array<{ room: string; kind: string; role: string }> }).rooms;
    assert.deepEqual(rooms.map((entry) => [entry.room, entry.kind, entry.role]).sort(), [
      ['lobby', 'public', 'visitor'],
      ['teahouse', 'public', 'visitor'],
    ]);
  });
});

describe('a guest of one connection only', () => {
  it('leaves no visit and reads no read markers: no session can ever list them', async () => {
    const w = world();
    const client = w.socket('/ws/chat/lobby/', null);
    await client.connect();
    const welcome = await client.receiveJson<{ type: string; user_id: string }>();
    assert.equal(welcome.type, 'welcome');
    assert.equal((await client.receiveJson<{ type: string }>()).type, 'history');
    assert.equal((await client.receiveJson<{ type: string }>()).type, 'presence', 'no read frame before presence');
    const withSession = w.guestCookie();
    await w.join('lobby', withSession);
    assert.deepEqual(await w.store.directory.roomsOf(welcome.user_id, 10), []);
    assert.equal((await w.store.directory.members('lobby', 10)).length, 1, 'only the guest with a session is recorded');
  });
});

describe('the routes refuse', () => {
  it('cross-site requests, other content types, missing sessions and guests where an account is needed', async () => {
    const w = world();
    const ana = await w.person('ana');
    const room = await w.privateRoom(ana.cookie);
    const crossSite = { origin: 'https://evil.example' };
    assert.deepEqual(await problemOf(await createRoom(w.request('POST', ana.cookie, { title: 'x' }, crossSite), w.chat)), [403, 'forbidden_origin']);
    assert.deepEqual(await problemOf(await removeMember(w.request('DELETE', ana.cookie, undefined, crossSite), room, ana.userId, w.chat)), [403, 'forbidden_origin']);
    assert.deepEqual(await problemOf(await signIn(w.request('POST', null, { username: 'ana', password: 'correct horse 马' }, crossSite), w.chat)), [403, 'forbidden_origin']);
    assert.deepEqual(
      await problemOf(await createRoom(w.request('POST', ana.cookie, { title: 'x' }, { 'content-type': 'text/plain' }), w.chat)),
      [415, 'unsupported_media_type'],
    );
    assert.deepEqual(await problemOf(await createRoom(w.request('POST', null, { title: 'x' }), w.chat)), [401, 'no_session']);
    assert.deepEqual(await problemOf(await createRoom(w.request('POST', w.guestCookie(), { title: 'x' }), w.chat)), [401, 'sign_in_required']);
    assert.deepEqual(await problemOf(await createRoom(w.request('POST', ana.cookie, { title: '   ' }), w.chat)), [400, 'invalid_title']);
    assert.deepEqual(await problemOf(await createRoom(w.request('POST', ana.cookie, { title: 'x'.repeat(65) }), w.chat)), [400, 'invalid_title']);
    assert.deepEqual(await problemOf(await listRooms(w.request('GET', null), w.chat)), [401, 'no_session']);
  });

  it('the room list asked for again and again (each costs reads per room)', async () => {
    const w = world();
    const ana = await w.person('ana');
    for (let n = 0; n < 10; n++) assert.equal((await listRooms(w.request('GET', ana.cookie), w.chat)).status, 200);
    const refused = await listRooms(w.request('GET', ana.cookie), w.chat);
    assert.deepEqual(await problemOf(refused.clone()), [429, 'rate_limited']);
    assert.equal(refused.headers.get('retry-after'), '1');
    w.advance(1_000);
    assert.equal((await listRooms(w.request('GET', ana.cookie), w.chat)).status, 200);
  });
});

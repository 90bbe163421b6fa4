/** Sign up, sign in, sign out and password changes, through the chat's real routes and sockets. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CloseCode, newSessionId } from 'next-channels';
import { WebsocketCommunicator } from 'next-channels/testing';
import { changePassword, signIn, signUp } from './account-routes';
import { currentSession, endSession, renameSession } from './http-routes';
import type { ChatMessageFrame, HistoryFrame } from './protocol';
import { chatWorld, cookieOf, TEST_ORIGIN } from './test-world';

const ORIGIN = TEST_ORIGIN;
const PASSWORD = '正确 horse battery';

function world() {
  const { chat, app, layer, sessions, advance } = chatWorld();
  const guest = (name = 'Quiet Owl 12'): string => cookieOf(sessions.setCookieHeader({ id: newSessionId(), user: { id: `u_${newSessionId().slice(0, 16)}`, name } }));
  const request = (cookie: string | null, body?: unknown, address = '198.51.100.7'): Request =>
    new Request('http://localhost:3000/api/x', {
      method: body === undefined ? 'GET' : 'POST',
      headers: { origin: ORIGIN, 'x-chat-client-address': address, ...(cookie ? { cookie } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  const socket = async (cookie: string, room = 'lobby'): Promise<WebsocketCommunicator> => {
    const client = new WebsocketCommunicator(app, `/ws/chat/${room}/`, { layer, headers: { origin: ORIGIN, cookie } });
    await client.connect();
    return client;
  };
  return { chat, sessions, request, guest, socket, advance };
}

async function problemOf(response: Response): Promise<[number, string]> {
  return [response.status, ((await response.json()) as { error: string }).error];
}

describe('sign up', () => {
  it("keeps the guest's user id and history, rotates the session and closes the guest's sockets", async () => {
    const w = world();
    const guest = w.guest();
    const guestUser = (await w.sessions.read(guest))!.user;
    const tab = await w.socket(guest);
    assert.equal((await tab.receiveJson<{ type: string }>()).type, 'welcome');
    await tab.receiveJson();
    await tab.receiveJson();
    tab.sendJson({ type: 'chat.message', message: '注册前的消息', client_id: 'g1' });
    assert.equal((await tab.receiveJson<ChatMessageFrame>()).user_id, guestUser.id);

    const response = await signUp(w.request(guest, { username: '小明', password: PASSWORD }), w.chat);
    assert.equal(response.status, 201);
    assert.deepEqual(await response.json(), { user_id: guestUser.id, user: '小明', account: { username: '小明' } });
    assert.equal(response.headers.get('cache-control'), 'no-store');
    const signedIn = cookieOf(response.headers.get('set-cookie')!);
    assert.notEqual((await w.sessions.read(signedIn))!.id, (await w.sessions.read(guest)) ?? 'revoked');
    // The guest session is over: its cookie is refused and its sockets closed.
    assert.equal(await w.sessions.read(guest), null);
    assert.equal(await tab.receiveClose(), CloseCode.SessionEnded);

    const again = await w.socket(signedIn);
    const welcome = await again.receiveJson<{ user_id: string; user: string }>();
    assert.deepEqual([welcome.user_id, welcome.user], [guestUser.id, '小明']);
    const history = await again.receiveJson<HistoryFrame>();
    assert.deepEqual(history.messages.map((message) => [message.user_id, message.message]), [[guestUser.id, '注册前的消息']]);
    const session = (await (await currentSession(w.request(signedIn), w.chat)).json()) as { account: unknown };
    assert.deepEqual(session.account, { username: '小明' });
  });

  it('refuses a taken user name (whatever its case or width), bad input, and a second account for one browser', async () => {
    const w = world();
    await signUp(w.request(w.guest(), { username: 'Ana', password: PASSWORD }), w.chat);
    assert.deepEqual(await problemOf(await signUp(w.request(w.guest(), { username: 'ＡＮＡ', password: PASSWORD }), w.chat)), [409, 'username_taken']);
    assert.deepEqual(await problemOf(await signUp(w.request(w.guest(), { username: 'a b', password: PASSWORD }), w.chat)), [400, 'invalid_username']);
    assert.deepEqual(await problemOf(await signUp(w.request(w.guest(), { username: 'bo', password: 'short' }), w.chat)), [400, 'invalid_password']);
    const bo = await signUp(w.request(w.guest(), { username: 'bo', password: PASSWORD }), w.chat);
    const boCookie = cookieOf(bo.headers.get('set-cookie')!);
    assert.deepEqual(await problemOf(await signUp(w.request(boCookie, { username: 'bo2', password: PASSWORD }), w.chat)), [409, 'already_signed_in']);
    // A signed-in person is shown by their user name: unique, unlike a guest's display name.
    assert.deepEqual(await problemOf(await renameSession(w.request(boCookie, { name: 'Someone' }), w.chat)), [409, 'account_name']);
  });
});

describe('sign in', () => {
  it('answers a wrong password and an unknown name alike, and signs in with a new session', async () => {
    const w = world();
    const made = await signUp(w.request(w.guest(), { username: 'ana', password: PASSWORD }), w.chat);
    const { user_id: userId } = (await made.json()) as { user_id: string };
    const wrong = await signIn(w.request(w.guest(), { username: 'ana', password: 'not the password' }), w.chat);
    const unknown = await signIn(w.request(w.guest(), { username: 'nobody', password: 'not the password' }), w.chat);
    assert.deepEqual([wrong.status, await wrong.text()], [unknown.status, await unknown.text()]);
    assert.equal(wrong.status, 401);

    const otherBrowser = w.guest('Swift Fox 40');
    const response = await signIn(w.request(otherBrowser, { username: 'ANA', password: PASSWORD }), w.chat);
    assert.equal(response.status, 200);
    const signedIn = cookieOf(response.headers.get('set-cookie')!);
    assert.deepEqual((await w.sessions.read(signedIn))!.user, { id: userId, name: 'ana' });
    assert.equal(await w.sessions.read(otherBrowser), null, 'the session before sign-in is over');
  });

  it('slows the guessing of one account from any address, and of any account from one address', async () => {
    const w = world();
    await signUp(w.request(w.guest(), { username: 'ana', password: PASSWORD }), w.chat);
    for (let attempt = 0; attempt < 5; attempt++) {
      const response = await signIn(w.request(null, { username: 'ana', password: `guess ${attempt}xx` }, `203.0.113.${attempt}`), w.chat);
      assert.equal(response.status, 401);
    }
    // Even the right password waits now, from yet another address.
    const locked = await signIn(w.request(null, { username: 'ana', password: PASSWORD }, '203.0.113.99'), w.chat);
    assert.deepEqual(await problemOf(locked.clone()), [429, 'rate_limited']);
    assert.ok(Number(locked.headers.get('retry-after')) > 0);
    w.advance(15 * 60_000);
    assert.equal((await signIn(w.request(null, { username: 'ana', password: PASSWORD }, '203.0.113.99'), w.chat)).status, 200);

    for (let attempt = 0; attempt < 10; attempt++) await signIn(w.request(null, { username: `someone${attempt}`, password: 'whatever1' }, '192.0.2.1'), w.chat);
    assert.deepEqual(await problemOf(await signIn(w.request(null, { username: 'ana', password: PASSWORD }, '192.0.2.1'), w.chat)), [429, 'rate_limited']);
  });
});

describe('sign out and password change', () => {
  it('signing out ends the session and closes its sockets', async () => {
    const w = world();
    const made = await signUp(w.request(w.guest(), { username: 'ana', password: PASSWORD }), w.chat);
    const cookie = cookieOf(made.headers.get('set-cookie')!);
    const tab = await w.socket(cookie);
    for (let frame = 0; frame < 3; frame++) await tab.receiveJson(); // welcome, history, presence
    const out = await endSession(new Request('http://localhost:3000/api/session', { method: 'DELETE', headers: { origin: ORIGIN, cookie } }), w.chat);
    assert.equal(out.status, 204);
    assert.equal(await tab.receiveClose(), CloseCode.SessionEnded);
    assert.equal(await w.sessions.read(cookie), null);
  });

  it('a password change ends every other session of the account, and the old password stops working', async () => {
    const w = world();
    const made = await signUp(w.request(w.guest(), { username: 'ana', password: PASSWORD }), w.chat);
    const laptop = cookieOf(made.headers.get('set-cookie')!);
    const phone = cookieOf((await signIn(w.request(w.guest(), { username: 'ana', password: PASSWORD }), w.chat)).headers.get('set-cookie')!);
    const phoneTab = await w.socket(phone);
    for (let frame = 0; frame < 3; frame++) await phoneTab.receiveJson(); // welcome, history, presence
    assert.deepEqual(await problemOf(await changePassword(w.request(laptop, { password: 'wrong password', new_password: 'new password 新' }), w.chat)), [401, 'bad_credentials']);
    const changed = await changePassword(w.request(laptop, { password: PASSWORD, new_password: 'new password 新' }), w.chat);
    assert.equal(changed.status, 200);
    assert.equal(await phoneTab.receiveClose(), CloseCode.SessionEnded);
    assert.equal(await w.sessions.read(phone), null);
    assert.ok(await w.sessions.read(cookieOf(changed.headers.get('set-cookie')!)));
    assert.equal((await signIn(w.request(w.guest(), { username: 'ana', password: PASSWORD }), w.chat)).status, 401);
    assert.equal((await signIn(w.request(w.guest(), { username: 'ana', password: 'new password 新' }), w.chat)).status, 200);
  });
});

/**
 * Identity against the production server, through real HTTP requests and real sockets: display
 * names that cannot be spoofed, session cookies that cannot be planted beside ours, and sessions
 * that end (sign-out) everywhere at once.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AppServer } from './support/app-server';
import { TestSocket } from './support/ws-client';

/** The `name=value` part of a response's Set-Cookie header. */
const cookieOf = (response: Response): string => (response.headers.get('set-cookie') ?? '').split(';')[0]!;

describe('sessions and names on the production server', () => {
  let server: AppServer;
  before(async () => {
    server = await AppServer.start({ mode: 'production' });
  });
  after(async () => {
    await server?.dispose();
  });

  const newVisitor = async (): Promise<string> => cookieOf(await fetch(`${server.http}/`));
  const me = async (cookie: string): Promise<Response> => fetch(`${server.http}/api/session`, { headers: { cookie } });
  const rename = (cookie: string, name: unknown): Promise<Response> =>
    fetch(`${server.http}/api/session`, {
      method: 'POST',
      headers: { cookie, origin: server.origin, 'content-type': 'application/json' },
      body: JSON.stringify({ name }),
    });
  const signOut = (cookie: string, origin = server.origin): Promise<Response> =>
    fetch(`${server.http}/api/session`, { method: 'DELETE', headers: { cookie, origin } });
  const open = (cookie: string, room = 'lobby/'): Promise<TestSocket> => TestSocket.open(`${server.ws}/ws/chat/${room}`, { origin: server.origin, cookie });
  const welcome = async (socket: TestSocket) => (await socket.find((frame) => frame.type === 'welcome')) as { user_id: string; user: string };

  it('refuses display names that hide or pretend to be System, over POST /api/session', async () => {
    const cookie = await newVisitor();
    for (const name of ['Sys\u200Dtem', 'Sуstem', 'System.', 'S y s t e m', 'ЅYSTEM', '\u3164', '\u2800', '\u200D', '\u115F\u1160', 'admin', 'ADMlN', '@everyone']) {
      const response = await rename(cookie, name);
      assert.equal(response.status, 400, JSON.stringify(name));
      assert.equal(((await response.json()) as { error: string }).error, 'invalid_name');
    }
    const socket = await open(cookie);
    assert.notEqual((await welcome(socket)).user, 'System');
    socket.close();
  });

  it('keeps names in every script as typed (after NFKC), and shows them on the socket', async () => {
    for (const [typed, shown] of [
      ['小明', '小明'],
      ['王小二', '王小二'],
      ['田中 さくら', '田中 さくら'],
      ['김민수', '김민수'],
      ['محمد', 'محمد'],
      ['José Ñúñez', 'José Ñúñez'],
      ['👩‍💻 Ana', '👩‍💻 Ana'],
      ['Ｍｉｎｇ\u200B', 'Ming'],
    ]) {
      const response = await rename(await newVisitor(), typed);
      assert.equal(response.status, 200, typed);
      assert.equal(((await response.json()) as { user: string }).user, shown);
      const socket = await open(cookieOf(response));
      assert.equal((await welcome(socket)).user, shown);
      socket.close();
    }
  });

  it('refuses a session cookie planted beside ours: a page load gets a new session, a socket a guest', async () => {
    const mine = await newVisitor();
    const planted = await newVisitor();
    const [myId, plantedId] = await Promise.all([mine, planted].map(async (cookie) => ((await (await me(cookie)).json()) as { user_id: string }).user_id));
    for (const cookie of [`${planted}; ${mine}`, `${mine}; ${planted}`]) {
      assert.equal((await me(cookie)).status, 401, 'the API picks neither');
      const page = await fetch(`${server.http}/`, { headers: { cookie } });
      const fresh = cookieOf(page);
      assert.match(fresh, /^session=/, 'the page load issues a fresh session');
      const freshId = ((await (await me(fresh)).json()) as { user_id: string }).user_id;
      const socket = await open(cookie);
      const guest = await welcome(socket);
      socket.close();
      for (const id of [freshId, guest.user_id]) assert.ok(id !== myId && id !== plantedId, `${id} is one of the two cookies' users`);
    }
  });

  it('signs out: DELETE /api/session closes the session\'s sockets with 4401, and its cookie works no more', async () => {
    const cookie = await newVisitor();
    const { user_id: userId } = (await (await me(cookie)).json()) as { user_id: string };
    const chat = await open(cookie, 'signout/');
    const notifications = await TestSocket.open(`${server.ws}/ws/notifications/`, { origin: server.origin, cookie });
    const bystander = await open(await newVisitor(), 'signout/');
    await welcome(chat);
    await welcome(bystander);

    assert.equal((await signOut(cookie, 'http://evil.example')).status, 403);
    const response = await signOut(cookie);
    assert.equal(response.status, 204);
    assert.match(response.headers.get('set-cookie') ?? '', /^session=; Max-Age=0; Path=\/; HttpOnly; SameSite=Lax$/);
    assert.deepEqual(await Promise.all([chat.closed, notifications.closed]), [4401, 4401]);

    assert.equal((await me(cookie)).status, 401);
    assert.equal((await rename(cookie, 'Ana')).status, 401);
    const again = await open(cookie);
    assert.equal(await again.closed, 4401, 'the handshake with it is closed at once');
    assert.equal(again.frames.length, 0, 'no frame of the room before the close');
    const page = await fetch(`${server.http}/`, { headers: { cookie } });
    const fresh = cookieOf(page);
    assert.match(fresh, /^session=./);
    assert.notEqual(((await (await me(fresh)).json()) as { user_id: string }).user_id, userId, 'the next page load is a new guest');

    bystander.send({ type: 'ping' });
    await bystander.find((frame) => frame.type === 'pong');
    bystander.close();
  });
});

describe('sessions on an HTTPS site', () => {
  let server: AppServer;
  before(async () => {
    server = await AppServer.start({ mode: 'production', env: { PUBLIC_URL: 'https://chat.example.test' } });
  });
  after(async () => {
    await server?.dispose();
  });

  it('issues a __Host-session cookie, Secure, for the whole site and no domain, and reads no plain session cookie', async () => {
    const page = await fetch(`${server.http}/`);
    const header = page.headers.get('set-cookie') ?? '';
    assert.match(header, /^__Host-session=[^;]+; Max-Age=\d+; Path=\/; HttpOnly; Secure; SameSite=Lax$/);
    const cookie = cookieOf(page);
    assert.equal((await fetch(`${server.http}/api/session`, { headers: { cookie } })).status, 200);
    // A cookie a sibling subdomain could set has no __Host- prefix: it is not ours.
    const planted = `session=${cookie.slice('__Host-session='.length)}`;
    assert.equal((await fetch(`${server.http}/api/session`, { headers: { cookie: planted } })).status, 401);
  });
});

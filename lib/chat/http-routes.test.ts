import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  AllowedOrigins,
  InMemoryChannelLayer,
  SessionCookies,
  silentLogger,
} from 'next-channels';
import { WebsocketCommunicator } from 'next-channels/testing';
import { ChatService } from './chat-service';
import { announce, currentSession, endSession, notify, renameSession } from './http-routes';
import { ADMIN_BODY_MAX_BYTES, SESSION_BODY_MAX_BYTES } from './json-body';
import { userNotificationGroup } from './notifications';
import type { ChatMessageFrame } from './protocol';
import { chatApplication } from './routing';
import type { ChatRuntime } from './runtime';
import { accessServices } from './access-services';
import { TEST_HASHER } from './passwords';
import { MemoryMessageStore } from './store/memory';

const TOKEN = 'admin-token-0123456789';
const ORIGIN = 'http://localhost:3000';

function runtime(adminToken: string | null = TOKEN) {
  const layer = new InMemoryChannelLayer();
  const store = new MemoryMessageStore();
  const sessions = new SessionCookies({ secret: 'http-routes-test-secret-0123456789', revocations: store });
  const allowedOrigins = AllowedOrigins.localDefaults(3000);
  const service = new ChatService({ store, layer, logger: silentLogger });
  const chat: ChatRuntime = { service, layer, sessions, allowedOrigins, adminToken, ...accessServices({ store, sessions, access: service.access, hasher: TEST_HASHER }) };
  const app = chatApplication({ service, sessions, allowedOrigins, quotas: null, maxFrameBytes: 65_536 });
  return { chat, app, layer, sessions };
}

const post = (body: string, headers: Record<string, string> = {}): Request =>
  new Request('http://localhost:3000/api/x', { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });

/** A body of unknown length (no Content-Length), as a chunked upload arrives. */
const streamed = (text: string, headers: Record<string, string>): Request =>
  new Request('http://localhost:3000/api/x', {
    method: 'POST',
    body: new Blob([text]).stream(),
    headers: { 'content-type': 'application/json', ...headers },
    duplex: 'half',
  } as RequestInit);

async function problemOf(response: Response): Promise<[number, string]> {
  return [response.status, ((await response.json()) as { error: string }).error];
}

describe('announce', () => {
  it('stores the message as the system user and sends it to the connected clients of the room', async () => {
    const { chat, app, layer } = runtime();
    const client = new WebsocketCommunicator(app, '/ws/chat/lobby/', { layer, headers: { origin: ORIGIN } });
    await client.connect();
    const joined = [await client.receiveJson(), await client.receiveJson(), await client.receiveJson()];
    assert.deepEqual(joined.map((frame) => (frame as { type: string }).type), ['welcome', 'history', 'presence']);
    const response = await announce(post('{"message":"维护通知"}', { authorization: `Bearer ${TOKEN}` }), 'lobby', chat);
    assert.equal(response.status, 201);
    const stored = (await response.json()) as ChatMessageFrame;
    assert.equal(stored.user_id, 'system');
    assert.equal(stored.message, '维护通知');
    assert.deepEqual(await client.receiveJson(), stored);
  });

  it('answers 404 while no admin token is configured', async () => {
    const response = await announce(post('{"message":"x"}', { authorization: `Bearer ${TOKEN}` }), 'lobby', runtime(null).chat);
    assert.equal(response.status, 404);
  });

  it('answers 401 without the token or with a wrong one', async () => {
    const { chat } = runtime();
    for (const authorization of [undefined, 'Bearer wrong', `Basic ${TOKEN}`, `Bearer ${TOKEN}x`]) {
      const response = await announce(post('{"message":"x"}', authorization ? { authorization } : {}), 'lobby', chat);
      assert.equal(response.status, 401, authorization);
      assert.equal(response.headers.get('www-authenticate'), 'Bearer');
    }
  });

  it('answers 404 for a bad room name and 400 for a bad body', async () => {
    const { chat } = runtime();
    const auth = { authorization: `Bearer ${TOKEN}` };
    assert.equal((await announce(post('{"message":"x"}', auth), 'bad room', chat)).status, 404);
    const bodies: Array<[string, string]> = [
      ['nope', 'bad_json'],
      ['{"message":""}', 'invalid_message'],
      ['{"text":"x"}', 'invalid_message'],
      ['[1]', 'invalid_message'],
      [JSON.stringify({ message: 'x'.repeat(2001) }), 'too_long'],
    ];
    for (const [body, code] of bodies) {
      const response = await announce(post(body, auth), 'lobby', chat);
      assert.equal(response.status, 400, body);
      assert.equal(((await response.json()) as { error: string }).error, code, body);
    }
  });
});

describe('request bodies', () => {
  const auth = { authorization: `Bearer ${TOKEN}` };

  it('refuses a body that is not application/json with 415, storing nothing', async () => {
    const { chat } = runtime();
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=b']) {
      const headers = { ...auth, 'content-type': type };
      assert.deepEqual(await problemOf(await announce(post('{"message":"x"}', headers), 'lobby', chat)), [415, 'unsupported_media_type'], type);
      assert.deepEqual(await problemOf(await notify(post('{"title":"t","body":"b"}', headers), 'u1', chat)), [415, 'unsupported_media_type'], type);
    }
    assert.equal((await chat.service.history('lobby', 10)).messages.length, 0);
  });

  it('refuses a body over its cap with 413, declared or counted', async () => {
    const { chat, sessions } = runtime();
    const cookie = `session=${sessions.sign({ id: 'u1', name: 'Ana' })}`;
    const big = JSON.stringify({ message: 'x', pad: 'x'.repeat(ADMIN_BODY_MAX_BYTES) });
    for (const request of [post(big, auth), streamed(big, auth)]) {
      assert.deepEqual(await problemOf(await announce(request, 'lobby', chat)), [413, 'too_large']);
    }
    assert.deepEqual(await problemOf(await notify(streamed(JSON.stringify({ title: 't', body: big }), auth), 'u1', chat)), [413, 'too_large']);
    const name = JSON.stringify({ name: 'Ana', pad: 'x'.repeat(SESSION_BODY_MAX_BYTES) });
    assert.deepEqual(await problemOf(await renameSession(streamed(name, { cookie, origin: ORIGIN }), chat)), [413, 'too_large']);
    assert.equal((await chat.service.history('lobby', 10)).messages.length, 0);
  });

  it('takes a message of 2,000 four-byte characters, and a name of 32, within the caps', async () => {
    const { chat, sessions } = runtime();
    const message = '😀'.repeat(2_000);
    assert.equal((await announce(streamed(JSON.stringify({ message }), auth), 'lobby', chat)).status, 201);
    const cookie = `session=${sessions.sign({ id: 'u1', name: 'Ana' })}`;
    const renamed = await renameSession(streamed(JSON.stringify({ name: '😀'.repeat(32) }), { cookie, origin: ORIGIN }), chat);
    assert.equal(renamed.status, 200);
  });
});

describe('notify', () => {
  it("pushes a notification to the user's notification group, with the token only", async () => {
    const { chat, layer } = runtime();
    const received: unknown[] = [];
    const channel = layer.newChannel();
    layer.attach(channel, { backlog: 0, deliver: (message) => received.push(message) });
    await layer.groupAdd(userNotificationGroup('u_ming'), channel);
    const body = JSON.stringify({ title: '提醒', body: 'hello' });
    assert.equal((await notify(post(body), 'u_ming', chat)).status, 401);
    assert.equal((await notify(post(body, { authorization: `Bearer ${TOKEN}` }), 'u_ming', runtime(null).chat)).status, 404);
    assert.equal((await notify(post('{"title":""}', { authorization: `Bearer ${TOKEN}` }), 'u_ming', chat)).status, 400);
    assert.equal(received.length, 0);
    assert.equal((await notify(post(body, { authorization: `Bearer ${TOKEN}` }), 'u_ming', chat)).status, 202);
    assert.deepEqual((received[0] as { frame: { title: string; body: string } }).frame.title, '提醒');
  });
});

describe('session routes', () => {
  const request = (method: string, headers: Record<string, string>): Request => new Request('http://localhost:3000/api/session', { method, headers });

  it('tells a browser who it is, and 401 without a session', async () => {
    const { chat, sessions } = runtime();
    const cookie = `session=${sessions.sign({ id: 'u1', name: 'Ana' })}`;
    const response = await currentSession(request('GET', { cookie }), chat);
    assert.deepEqual(await response.json(), { user_id: 'u1', user: 'Ana', account: null });
    assert.equal((await currentSession(request('GET', {}), chat)).status, 401);
  });

  it('renames the session, keeping the user id and the session, and sets the new cookie', async () => {
    const { chat, sessions } = runtime();
    const cookie = `session=${sessions.sign({ id: 'u1', name: 'Ana' }, 'session-id-of-ana-01')}`;
    const response = await renameSession(post('{"name":" 小明 "}', { cookie, origin: ORIGIN }), chat);
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { user_id: 'u1', user: '小明' });
    const renamed = /^session=[^;]+/.exec(response.headers.get('set-cookie') ?? '')?.[0];
    assert.deepEqual(await sessions.read(renamed), { id: 'session-id-of-ana-01', user: { id: 'u1', name: '小明' } });
  });

  it('keeps every session answer out of caches: Cache-Control no-store', async () => {
    const { chat, sessions } = runtime();
    const cookie = `session=${sessions.sign({ id: 'u1', name: 'Ana' })}`;
    const answers = [
      await currentSession(new Request('http://localhost:3000/api/session', { headers: { cookie } }), chat),
      await currentSession(new Request('http://localhost:3000/api/session'), chat),
      await endSession(new Request('http://localhost:3000/api/session', { method: 'DELETE', headers: { origin: ORIGIN } }), chat),
      await renameSession(post('{"name":"Bo"}', { cookie, origin: ORIGIN }), chat),
      await renameSession(post('{"name":"Bo"}', { cookie, origin: 'http://evil.example' }), chat),
      await renameSession(post('{"name":"Bo"}', { cookie, origin: ORIGIN, 'content-type': 'text/plain' }), chat),
    ];
    assert.deepEqual(answers.map((response) => response.status), [200, 401, 204, 200, 403, 415]);
    for (const response of answers) assert.equal(response.headers.get('cache-control'), 'no-store', String(response.status));
  });

  it('refuses a rename from a foreign origin, without a session, or with a bad name', async () => {
    const { chat, sessions } = runtime();
    const cookie = `session=${sessions.sign({ id: 'u1', name: 'Ana' })}`;
    assert.equal((await renameSession(post('{"name":"x"}', { cookie, origin: 'http://evil.example' }), chat)).status, 403);
    assert.equal((await renameSession(post('{"name":"x"}', { cookie }), chat)).status, 403);
    assert.equal((await renameSession(post('{"name":"x"}', { origin: ORIGIN }), chat)).status, 401);
    assert.equal((await renameSession(post('{"name":"   "}', { cookie, origin: ORIGIN }), chat)).status, 400);
    assert.equal((await renameSession(post('{"name":"Sуstem"}', { cookie, origin: ORIGIN }), chat)).status, 400);
    assert.equal((await renameSession(post('nope', { cookie, origin: ORIGIN }), chat)).status, 400);
  });

  it('signs out: revokes the session, clears the cookie, and closes its sockets with 4401', async () => {
    const { chat, app, layer, sessions } = runtime();
    const cookie = `session=${sessions.sign({ id: 'u1', name: 'Ana' })}`;
    const socket = new WebsocketCommunicator(app, '/ws/chat/lobby/', { layer, headers: { origin: ORIGIN, cookie } });
    await socket.connect();
    assert.equal((await socket.receiveJson<{ user_id: string }>()).user_id, 'u1');
    await socket.receiveJson(); // history
    await socket.receiveJson(); // presence
    assert.equal((await endSession(request('DELETE', { cookie, origin: 'http://evil.example' }), chat)).status, 403);
    assert.notEqual(await sessions.read(cookie), null, 'a foreign page cannot sign anyone out');
    const response = await endSession(request('DELETE', { cookie, origin: ORIGIN }), chat);
    assert.equal(response.status, 204);
    assert.match(response.headers.get('set-cookie') ?? '', /^session=; Max-Age=0; Path=\/; HttpOnly; SameSite=Lax$/);
    assert.equal(await socket.receiveClose(), 4401);
    assert.equal(await sessions.read(cookie), null);
    assert.equal((await currentSession(request('GET', { cookie }), chat)).status, 401);
    assert.equal((await endSession(request('DELETE', { cookie, origin: ORIGIN }), chat)).status, 204, 'signing out twice is no error');
  });
});

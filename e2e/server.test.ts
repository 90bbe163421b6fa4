/**
 * The production server as users run it (`npm run build && npm start`): one node process serving
 * Next.js and the chat sockets, tried with raw `ws` clients.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import path from 'node:path';
import { openSqlite } from '../lib/chat/store/sqlite-driver';
import { ADMIN_TOKEN, AppServer, ShutdownTimeout } from './support/app-server';
import { handshakeStatus, TestSocket } from './support/ws-client';

describe('production server', () => {
  let server: AppServer;
  before(async () => {
    server = await AppServer.start({ mode: 'production' });
  });
  after(async () => {
    await server?.dispose();
  });

  const open = (room: string, headers: Record<string, string> = {}) =>
    TestSocket.open(`${server.ws}/ws/chat/${room}`, { origin: server.origin, ...headers });

  it('serves the pages over HTTP and gives a new visitor a session cookie', async () => {
    const response = await fetch(`${server.http}/`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /text\/html/);
    assert.match(response.headers.get('set-cookie') ?? '', /^session=[^;]+;.*HttpOnly; SameSite=Lax/);
    assert.match(await response.text(), /Channels Chat/);
  });

  it('answers /healthz, /readyz and /metrics itself, without Next', async () => {
    const health = await fetch(`${server.http}/healthz`);
    assert.deepEqual([health.status, await health.text()], [200, 'ok\n']);
    const ready = await fetch(`${server.http}/readyz`);
    assert.deepEqual([ready.status, await ready.json()], [200, { status: 'ready', store: 'ok', layer: 'ok' }]);
    const socket = await open('metrics/');
    await socket.find((frame) => frame.type === 'presence');
    socket.send({ message: 'counted' });
    socket.send('not json');
    await socket.find((frame) => frame.type === 'error');
    socket.close();
    assert.equal(await socket.closed, 1005);
    // The server counts the close when the TCP connection ends, a moment after the client saw
    // the close frame: read the metrics until the count is there.
    let text = '';
    for (let attempt = 0; attempt < 100 && !/^channels_closes_total\{code="1005"\}/m.test(text); attempt++) {
      const metrics = await fetch(`${server.http}/metrics`);
      assert.match(metrics.headers.get('content-type') ?? '', /^text\/plain/);
      text = await metrics.text();
    }
    for (const line of [
      /^channels_connections_total \d+/m,
      /^channels_frames_received_total [1-9]\d*/m,
      /^channels_frames_sent_total [1-9]\d*/m,
      /^channels_closes_total\{code="1005"\} \d+/m,
      /^chat_messages_stored_total [1-9]\d*/m,
      /^chat_error_frames_total\{code="bad_json"\} [1-9]/m,
      /^chat_store_seconds_count\{operation="append"\} [1-9]/m,
      /^process_resident_memory_bytes \d+/m,
    ]) {
      assert.match(text, line);
    }
    assert.doesNotMatch(text, /counted/, 'no message text in metrics');
  });

  it('runs as one node process', async () => {
    const pid = server.pid;
    const children = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '');
    assert.equal(children.trim(), '');
  });

  it('sends {"message":"hi"} to every client of the room with user and user_id, and to no other room', async () => {
    const a = await open('room-a/');
    const b = await open('room-a/');
    const other = await open('room-b/');
    await Promise.all([a, b, other].map((socket) => socket.find((frame) => frame.type === 'history')));
    a.send({ message: 'hi' });
    for (const socket of [a, b]) {
      const frame = await socket.find((f) => f.type === 'chat.message');
      assert.equal(frame.message, 'hi');
      assert.equal(typeof frame.user, 'string');
      assert.match(String(frame.user_id), /^u_/);
    }
    other.send({ type: 'ping' });
    await other.find((frame) => frame.type === 'pong');
    assert.equal(other.frames.some((frame) => frame.type === 'chat.message'), false);
    for (const socket of [a, b, other]) socket.close();
  });

  it('answers "not json" with an error frame and keeps the socket open', async () => {
    const socket = await open('');
    socket.send('not json');
    assert.equal((await socket.find((frame) => frame.type === 'error')).code, 'bad_json');
    socket.send({ message: '还在' });
    assert.equal((await socket.find((frame) => frame.type === 'chat.message')).message, '还在');
    socket.close();
  });

  it('refuses a foreign, missing or null Origin with 403', async () => {
    const url = `${server.ws}/ws/chat/lobby/`;
    assert.equal(await handshakeStatus(url, { origin: 'http://evil.example' }), 403);
    assert.equal(await handshakeStatus(url), 403);
    assert.equal(await handshakeStatus(url, { origin: 'null' }), 403);
    assert.equal(await handshakeStatus(url, { origin: server.origin }), 101);
  });

  it('refuses an unknown path and a bad room name with 404', async () => {
    const headers = { origin: server.origin };
    assert.equal(await handshakeStatus(`${server.ws}/ws/nothing/`, headers), 404);
    assert.equal(await handshakeStatus(`${server.ws}/elsewhere`, headers), 404);
    assert.equal(await handshakeStatus(`${server.ws}/ws/chat/bad%20room/`, headers), 404);
  });

  it('refuses a /_next/ upgrade with 404: Next has a socket only in development', async () => {
    // After a page request Next has set up its own upgrade listener; it must still not get this.
    await (await fetch(`${server.http}/`)).text();
    assert.equal(await handshakeStatus(`${server.ws}/_next/hmr`, { origin: server.origin }), 404);
    assert.equal(await handshakeStatus(`${server.ws}/_next/webpack-hmr`, { origin: server.origin }), 404);
  });

  it('delivers POST /api/rooms/lobby/announce with the token to connected clients', async () => {
    const socket = await open('lobby/');
    await socket.find((frame) => frame.type === 'history');
    const url = `${server.http}/api/rooms/lobby/announce`;
    const refused = await fetch(url, { method: 'POST', body: JSON.stringify({ message: 'x' }) });
    assert.equal(refused.status, 401);
    const response = await fetch(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ message: '系统维护 at 22:00' }),
    });
    assert.equal(response.status, 201);
    const frame = await socket.find((f) => f.type === 'chat.message' && f.user_id === 'system');
    assert.equal(frame.message, '系统维护 at 22:00');
    socket.close();
  });

  it('logs no message text, admin token, session secret or cookie at the info level', async () => {
    const text = 'log-canary 紫色大象 4711';
    const page = await fetch(`${server.http}/`);
    const cookie = (page.headers.get('set-cookie') ?? '').split(';')[0]!;
    assert.match(cookie, /^session=./);
    const socket = await open('log-check/', { cookie });
    await socket.find((frame) => frame.type === 'presence');
    socket.send({ message: text });
    socket.send({ type: 'chat.message', message: `${text} again`, client_id: 'log-1' });
    socket.send({ type: 'nonsense', message: text });
    socket.send(`not json ${text}`);
    const announced = await fetch(`${server.http}/api/rooms/log-check/announce`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ message: `${text} announced` }),
    });
    assert.equal(announced.status, 201);
    await socket.find((frame) => frame.type === 'chat.message' && frame.user_id === 'system');
    await socket.find((frame) => frame.type === 'chat.message' && frame.client_id === 'log-1');
    assert.equal(socket.frames.filter((frame) => frame.type === 'error').length, 2);
    socket.close();
    await socket.closed;

    const secret = (await readFile(path.join(server.dataDir, 'session-secret'), 'utf8')).trim();
    const output = server.output();
    assert.match(output, /"msg":"listening"/, 'the output holds the logs');
    for (const [what, value] of [
      ['message text', 'log-canary'],
      ['message text', '紫色大象'],
      ['admin token', ADMIN_TOKEN],
      ['session secret', secret],
      ['session cookie', cookie.slice('session='.length)],
    ] as const) {
      assert.ok(!output.includes(value), `the log holds the ${what}`);
    }
  });

  it('knows a browser by its session cookie, on pages and sockets, and after a rename', async () => {
    const page = await fetch(`${server.http}/`);
    const cookie = (page.headers.get('set-cookie') ?? '').split(';')[0]!;
    const me = (await (await fetch(`${server.http}/api/session`, { headers: { cookie } })).json()) as { user_id: string; user: string };
    const socket = await open('lobby/', { cookie });
    const welcome = await socket.find((frame) => frame.type === 'welcome');
    assert.deepEqual([welcome.user_id, welcome.user], [me.user_id, me.user]);
    socket.close();

    const renamed = await fetch(`${server.http}/api/session`, {
      method: 'POST',
      headers: { cookie, origin: server.origin, 'content-type': 'application/json' },
      body: JSON.stringify({ name: '小红' }),
    });
    assert.equal(renamed.status, 200);
    const newCookie = (renamed.headers.get('set-cookie') ?? '').split(';')[0]!;
    const again = await open('lobby/', { cookie: newCookie });
    const welcomeAgain = await again.find((frame) => frame.type === 'welcome');
    assert.deepEqual([welcomeAgain.user_id, welcomeAgain.user], [me.user_id, '小红']);
    again.close();
  });
});

describe('production server lifecycle', () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`closes every socket with 1001 on ${signal} and exits 0`, async () => {
      const server = await AppServer.start({ mode: 'production' });
      const sockets = await Promise.all(
        ['lobby/', 'other/'].map((room) => TestSocket.open(`${server.ws}/ws/chat/${room}`, { origin: server.origin })),
      );
      const codes = Promise.all(sockets.map((socket) => socket.closed));
      assert.equal(await server.stop(signal), 0);
      assert.deepEqual(await codes, [1001, 1001]);
      assert.match(server.output(), new RegExp(`"signal":"${signal}".*"msg":"shutting down"`));
      assert.match(server.output(), /"msg":"stopped"/);
      await server.dispose();
    });
  }

  it('fails a stop that overruns its deadline, killing the server, instead of hanging the test', async () => {
    const server = await AppServer.start({ mode: 'production' });
    const stuck = await TestSocket.open(`${server.ws}/ws/chat/`, { origin: server.origin });
    await stuck.find((frame) => frame.type === 'presence');
    // This client will not answer the close frame: the shutdown waits for it (up to 5 s).
    (stuck.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    await assert.rejects(server.stop('SIGTERM', { deadlineMs: 500 }), (error: unknown) => {
      assert.ok(error instanceof ShutdownTimeout, String(error));
      assert.match(error.message, /did not exit within 500 ms of SIGTERM; killed its process group/);
      return true;
    });
    assert.equal(server.process, null, 'the server was killed');
    stuck.ws.terminate();
    await server.dispose();
  });

  it('exits at once, with 1, on a second signal while the first one waits for a client', async () => {
    const server = await AppServer.start({ mode: 'production' });
    const stuck = await TestSocket.open(`${server.ws}/ws/chat/`, { origin: server.origin });
    await stuck.find((frame) => frame.type === 'presence');
    // This client will not answer the close frame: the shutdown waits for it (up to 5 s).
    (stuck.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    server.process?.kill('SIGTERM');
    await server.waitForOutput(/"msg":"shutting down"/);
    const started = Date.now();
    assert.equal(await server.stop('SIGTERM'), 1);
    assert.ok(Date.now() - started < 2_000, `exited ${Date.now() - started} ms after the second signal`);
    assert.match(server.output(), /"msg":"second signal, exiting at once"/);
    await server.dispose();
  });

  it('loses nothing it acknowledged when stopped in the middle of a burst', async () => {
    const server = await AppServer.start({ mode: 'production', env: { RATE_LIMIT: 'off' } });
    const socket = await TestSocket.open(`${server.ws}/ws/chat/burst/`, { origin: server.origin });
    await socket.find((frame) => frame.type === 'presence');
    for (let n = 0; n < 500; n++) socket.send({ type: 'chat.message', message: `burst ${n}`, client_id: `b${n}` });
    await socket.find((frame) => frame.type === 'chat.message');
    assert.equal(await server.stop('SIGTERM'), 0);
    assert.equal(await socket.closed, 1001);
    const acknowledged = socket.frames.filter((frame) => frame.type === 'chat.message').map((frame) => frame.client_id);
    const db = openSqlite(path.join(server.dataDir, 'chat.db'), { readonly: true });
    const stored = db.prepare("SELECT client_id FROM messages WHERE room = 'burst' ORDER BY id").all() as Array<{ client_id: string }>;
    db.close();
    const storedIds = stored.map((row) => row.client_id);
    assert.ok(acknowledged.length > 0);
    for (const clientId of acknowledged) assert.ok(storedIds.includes(String(clientId)), `${clientId} acknowledged but not stored`);
    assert.equal(new Set(storedIds).size, storedIds.length, 'nothing stored twice');
    await server.dispose();
  });

  it('applies MAX_CONNECTIONS_PER_IP and RATE_LIMIT from the environment', async () => {
    const server = await AppServer.start({ mode: 'production', env: { MAX_CONNECTIONS_PER_IP: '2', RATE_LIMIT: '1/1m' } });
    const url = `${server.ws}/ws/chat/limited/`;
    const first = await TestSocket.open(url, { origin: server.origin });
    await TestSocket.open(url, { origin: server.origin });
    assert.equal(await handshakeStatus(url, { origin: server.origin }), 429);
    await first.find((frame) => frame.type === 'welcome');
    first.send({ message: 'one' });
    first.send({ type: 'chat.message', message: 'two', client_id: 'c2' });
    const refused = await first.find((frame) => frame.type === 'error');
    assert.deepEqual([refused.code, refused.client_id], ['rate_limited', 'c2']);
    await server.dispose();
  });

  it('refuses to start on a bad setting, with one line saying which', async () => {
    await assert.rejects(AppServer.start({ mode: 'production', env: { RATE_LIMIT: 'lots' } }), (error: Error) => {
      assert.match(error.message, /exited with 1 before listening/);
      assert.match(error.message, /configuration error: RATE_LIMIT must look like 20\/10s/);
      return true;
    });
  });
});

/**
 * The chat behind docs/nginx.conf with the upgrade headers stripped, as a corporate proxy does:
 * no WebSocket gets through, and the HTTP fallback carries the chat with the WebSocket table's
 * limits and refusals (docs/protocol.md, "Close codes and refusals").
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { freePort } from '../lib/testing/engines';
import { TestStream } from '../lib/testing/sse-client';
import { AppServer } from './support/app-server';
import { type Nginx, startNginx } from './support/nginx';
import { handshakeStatus } from './support/ws-client';

describe('the chat over the HTTP fallback, behind a proxy that refuses upgrades', () => {
  let server: AppServer;
  let nginx: Nginx;
  let base: string;
  let origin: string;
  const streams: TestStream[] = [];

  before(async () => {
    const port = await freePort();
    origin = `http://localhost:${port}`;
    base = `http://127.0.0.1:${port}`;
    server = await AppServer.start({ mode: 'production', env: { TRUST_PROXY: '127.0.0.1', MAX_CONNECTIONS_PER_IP: '4', PUBLIC_URL: origin } });
    nginx = await startNginx([server.port], { port, blockUpgrades: true });
  });
  after(async () => {
    for (const stream of streams) stream.abort();
    await nginx?.dispose();
    await server?.dispose();
  });

  const visitor = async (): Promise<string> => {
    const page = await fetch(`${base}/`);
    const cookie = (page.headers.get('set-cookie') ?? '').split(';')[0]!;
    assert.match(cookie, /^session=./);
    return cookie;
  };
  const open = async (room: string, cookie: string, headers: Record<string, string> = {}): Promise<TestStream> => {
    const stream = await TestStream.open(`${base}/ws/chat/${room}/`, { headers: { origin, cookie, ...headers } });
    streams.push(stream);
    return stream;
  };
  /** Frames as JSON until one matches. */
  const find = async (stream: TestStream, match: (frame: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> => {
    for (;;) {
      const frame = JSON.parse(await stream.frame()) as Record<string, unknown>;
      if (match(frame)) return frame;
    }
  };

  it('counts streams against the per-address cap: the fifth from one address gets 429', async () => {
    const cookie = await visitor();
    const held = await Promise.all([1, 2, 3, 4].map(() => open('capped', cookie)));
    for (const stream of held) assert.equal(stream.status, 200);
    assert.equal((await open('capped', cookie)).status, 429);
    for (const stream of held) {
      stream.abort();
      await stream.closed();
    }
  });

  it('blocks the upgrade and answers the probe, so a client can tell', async () => {
    assert.notEqual(await handshakeStatus(`ws://127.0.0.1:${nginx.port}/ws/chat/lobby/`, { origin }), 101);
    const probe = await fetch(`${base}/ws/chat/lobby/?_channels=probe`);
    assert.deepEqual([probe.status, probe.headers.get('x-channels-probe')], [204, '1']);
  });

  it('carries a conversation between two people, in Chinese', async () => {
    const [ana, ming] = [await open('fallback', await visitor()), await open('fallback', await visitor())];
    await find(ana, (frame) => frame.type === 'history');
    await find(ming, (frame) => frame.type === 'history');
    assert.equal((await ana.send(JSON.stringify({ type: 'chat.message', message: '你好，经过备用通道', client_id: 'c1' }))).status, 204);
    for (const stream of [ana, ming]) assert.equal((await find(stream, (frame) => frame.type === 'chat.message')).message, '你好，经过备用通道');
    ana.abort();
    ming.abort();
  });

  it('refuses what the upgrade refuses: another Origin 403, an unknown path or bad room 404', async () => {
    const cookie = await visitor();
    assert.equal((await open('lobby', cookie, { origin: 'http://evil.example' })).status, 403);
    assert.equal((await open('bad%20name', cookie)).status, 404);
    const nowhere = await TestStream.open(`${base}/ws/nowhere/`, { headers: { origin, cookie } });
    assert.equal(nowhere.status, 404);
  });

  it("closes a private room to a stranger with 4404, and a signed-out session's stream with 4401", async () => {
    const cookie = await visitor();
    const stranger = await open(`_p${'a'.repeat(22)}`, cookie);
    assert.deepEqual(await stranger.closed(), { code: 4404, reason: 'no such room' });
    const chat = await open('signout', cookie);
    await find(chat, (frame) => frame.type === 'history');
    assert.equal((await fetch(`${base}/api/session`, { method: 'DELETE', headers: { cookie, origin } })).status, 204);
    assert.deepEqual(await chat.closed(), { code: 4401, reason: 'session ended' });
  });

  for (const [name, frames, code] of [
    ['a frame over 64 KiB', ['x'.repeat(65 * 1024)], 1009],
    ['a frame that is not text', [{ binary: true }], 1003],
    ['text that is not valid Unicode', ['{"message":"\uD800"}'], 1007],
  ] as const) {
    it(`closes on ${name} with ${code}`, async () => {
      const chat = await open('limits', await visitor());
      await find(chat, (frame) => frame.type === 'history');
      assert.equal((await chat.post({ seq: 1, frames })).status, 204);
      assert.equal((await chat.closed()).code, code);
    });
  }

  it('closes a client that keeps sending refused frames with 1008', async () => {
    const chat = await open('flood', await visitor());
    await find(chat, (frame) => frame.type === 'history');
    assert.equal((await chat.post({ seq: 1, frames: Array.from({ length: 60 }, () => 'not json') })).status, 204);
    assert.equal((await chat.closed()).code, 1008);
  });

  it('closes streams with 1001 when the server stops', async () => {
    const chat = await open('stopping', await visitor());
    await find(chat, (frame) => frame.type === 'history');
    const stopped = server.stop('SIGTERM');
    assert.equal((await chat.closed()).code, 1001);
    assert.equal(await stopped, 0);
  });
});

/**
 * The development server (`npm run dev`): the same chat sockets, plus Next's hot-reload socket
 * forwarded to Next while every other upgrade stays with the channels router.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { AppServer } from './support/app-server';
import { handshakeStatus, TestSocket } from './support/ws-client';

describe('development server', () => {
  let server: AppServer;
  before(async () => {
    server = await AppServer.start({ mode: 'development', timeoutMs: 120_000 });
  });
  after(async () => {
    await server?.dispose();
  });

  it('runs development because npm run dev asks for it (no NODE_ENV given)', () => {
    assert.match(server.output(), /"mode":"development","msg":"listening"/);
  });

  it("hands /_next/ upgrades to Next's hot reload", async () => {
    const hmr = new WebSocket(`${server.ws}/_next/hmr`, { headers: { origin: server.origin } });
    const [data] = (await once(hmr, 'message')) as [Buffer];
    assert.equal(typeof JSON.parse(data.toString()), 'object');
    hmr.close();
  });

  it('hands /ws/chat/ upgrades to the chat and refuses other paths with 404', async () => {
    const socket = await TestSocket.open(`${server.ws}/ws/chat/`, { origin: server.origin });
    assert.equal((await socket.find((frame) => frame.type === 'welcome')).room, 'lobby');
    socket.send({ message: 'dev 你好' });
    assert.equal((await socket.find((frame) => frame.type === 'chat.message')).message, 'dev 你好');
    socket.close();
    assert.equal(await handshakeStatus(`${server.ws}/elsewhere`, { origin: server.origin }), 404);
  });

  it('exits 0 on SIGINT', async () => {
    const socket = await TestSocket.open(`${server.ws}/ws/chat/`, { origin: server.origin });
    assert.equal(await server.stop('SIGINT'), 0);
    assert.equal(await socket.closed, 1001);
  });
});

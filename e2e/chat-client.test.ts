/**
 * The framework-free ChatClient in Node (which has no global WebSocket: `ws` is passed in),
 * against the real production server, through a restart: over WebSockets, and over the HTTP
 * fallback (Node's fetch).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { fallbackSocket, type WebSocketLike } from 'next-channels/client';
import { ChatClient, type ChatSnapshot } from '../lib/client';
import { AppServer } from './support/app-server';

/** Resolves when the client's snapshot satisfies `ready`; never by time. */
function until(client: ChatClient, ready: (snapshot: ChatSnapshot) => boolean, timeoutMs = 30_000): Promise<ChatSnapshot> {
  return new Promise((resolve, reject) => {
    const check = (): boolean => {
      const snapshot = client.getSnapshot();
      if (!ready(snapshot)) return false;
      stop();
      clearTimeout(timer);
      resolve(snapshot);
      return true;
    };
    const stop = client.subscribe(check);
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`condition not met; snapshot: ${JSON.stringify(client.getSnapshot())}`));
    }, timeoutMs);
    check();
  });
}

for (const transport of ['websocket', 'fallback'] as const) {
  describe(`ChatClient in Node against the server (${transport})`, () => {
    let server: AppServer;
    before(async () => {
      server = await AppServer.start({ mode: 'production' });
    });
    after(async () => {
      await server?.dispose();
    });

    const client = (room: string): ChatClient =>
      new ChatClient({
        room,
        url: `${server.ws}/ws/chat/${room}/`,
        createSocket: (url) => new WebSocket(url, { headers: { origin: server.origin } }) as unknown as WebSocketLike,
        // Node's fetch sends no Origin of its own: the page's, as a browser would.
        createFallback: (url) => fallbackSocket(url, { fetch: (target, init) => fetch(target, { ...init, headers: { ...(init.headers as Record<string, string>), origin: server.origin } }) }),
        fallback: transport === 'websocket' ? 'off' : 'only',
        backoff: () => 50,
      });

    it('connects, sends, and sees its own message acknowledged', async () => {
      const chat = client('node-client');
      chat.connect();
      assert.equal((await until(chat, (s) => s.status === 'open')).transport, transport);
      const sent = chat.send('from Node 你好');
      assert.equal(sent.ok, true);
      const snapshot = await until(chat, (s) => s.outbox.length === 0 && s.messages.length === 1);
      assert.equal(snapshot.messages[0]?.message, 'from Node 你好');
      assert.equal(snapshot.messages[0]?.user_id, snapshot.me?.userId);
      chat.close();
    });

    it('keeps messages sent while the server is down, and delivers them once when it is back', async () => {
      const writer = client('node-restart');
      const reader = client('node-restart');
      writer.connect();
      reader.connect();
      await until(writer, (s) => s.status === 'open');
      await until(reader, (s) => s.status === 'open');
      assert.equal(await server.stop('SIGTERM'), 0);
      await until(writer, (s) => s.status === 'reconnecting');
      writer.send('one');
      writer.send('two');
      assert.deepEqual(writer.getSnapshot().outbox.map((p) => [p.text, p.state]), [['one', 'queued'], ['two', 'queued']]);
      await server.restart();
      const seen = await until(reader, (s) => s.messages.length === 2);
      assert.deepEqual(seen.messages.map((m) => m.message), ['one', 'two']);
      await until(writer, (s) => s.outbox.length === 0 && s.messages.length === 2);
      writer.close();
      reader.close();
    });
  });
}

/**
 * The client against a real server: `ChannelSocket` over `ws` to a `SocketServer`, and over the
 * HTTP fallback with Node's fetch: a consumer with a zod schema, requests answered and refused,
 * a refusal the client stops on, and the switch when the upgrade is refused on the way.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { z } from 'zod';
import { CloseCode } from '../close-codes';
import { WebsocketConsumer } from '../consumer';
import { InMemoryChannelLayer } from '../layers/in-memory';
import { silentLogger } from '../logger';
import { ProtocolConsumer } from '../protocol-consumer';
import { route, urlRouter } from '../routing';
import { SocketServer } from '../transport/socket-server';
import { ChannelSocket, RequestError, type SocketSnapshot } from './channel-socket';
import { fallbackSocket } from './fallback-socket';
import type { WebSocketLike } from './platform';
import { memoryTransportMemory } from './transport-choice';

const ClientFrame = z.discriminatedUnion('type', [
  z.object({ type: z.literal('vote'), option: z.enum(['tea', 'coffee']) }),
  z.object({ type: z.literal('tally') }),
]);
type Poll = {
  client: z.infer<typeof ClientFrame>;
  server: { type: 'votes'; counts: { tea: number; coffee: number } };
  replies: { tally: { tea: number; coffee: number } };
};

const counts = { tea: 0, coffee: 0 };

class PollConsumer extends ProtocolConsumer<Poll> {
  protected readonly frames = ClientFrame;
  receiveFrame(frame: Poll['client']): void {
    switch (frame.type) {
      case 'vote':
        counts[frame.option]++;
        this.sendFrame({ type: 'votes', counts: { ...counts } });
        return;
      case 'tally':
        this.replyTo(frame, { ...counts });
        return;
    }
  }
}

class MembersOnly extends WebsocketConsumer {
  static attempts = 0;
  override connect(): void {
    MembersOnly.attempts++;
    this.close(CloseCode.Forbidden, 'members only');
  }
}

let server: Server;
/** The same sockets behind a server that refuses every upgrade, as a proxy that strips them does. */
let blocking: Server;
let sockets: SocketServer;
let base = '';
let blockedBase = '';
const clients: ChannelSocket<Poll>[] = [];

before(async () => {
  sockets = new SocketServer({
    application: urlRouter([route('/ws/poll/', PollConsumer), route('/ws/private/', MembersOnly)]),
    layer: new InMemoryChannelLayer(),
    logger: silentLogger,
  });
  const answerHttp = (req: IncomingMessage, res: ServerResponse): void => {
    if (!sockets.handleHttp(req, res)) res.writeHead(404).end();
  };
  server = createServer(answerHttp);
  server.on('upgrade', (req, socket, head: Buffer) => sockets.handleUpgrade(req, socket, head));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
  blocking = createServer(answerHttp);
  blocking.on('upgrade', (_req, socket: Duplex) => socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n'));
  blocking.listen(0, '127.0.0.1');
  await once(blocking, 'listening');
  blockedBase = `ws://127.0.0.1:${(blocking.address() as AddressInfo).port}`;
});

after(async () => {
  for (const client of clients) client.close();
  await sockets.shutdown();
  for (const each of [server, blocking]) {
    each.closeAllConnections();
    each.close();
  }
});

type Mode = 'websocket' | 'fallback' | 'auto, upgrade blocked';

function client(path: string, mode: Mode = 'websocket'): ChannelSocket<Poll> {
  const socket = new ChannelSocket<Poll>({
    url: `${mode === 'auto, upgrade blocked' ? blockedBase : base}${path}`,
    createSocket: (url) => new WebSocket(url) as unknown as WebSocketLike,
    createFallback: (url) => fallbackSocket(url),
    fallback: mode === 'websocket' ? 'off' : mode === 'fallback' ? 'only' : 'auto',
    transportMemory: memoryTransportMemory(),
    confirmBlockedMs: 50,
    wakeUpSignals: () => () => {},
    backoff: () => 10,
  });
  clients.push(socket);
  return socket;
}

function until(socket: ChannelSocket<Poll>, done: (snapshot: SocketSnapshot) => boolean): Promise<SocketSnapshot> {
  return new Promise((resolve) => {
    const check = (): void => {
      if (!done(socket.getSnapshot())) return;
      stop();
      resolve(socket.getSnapshot());
    };
    const stop = socket.subscribe(check);
    check();
  });
}

for (const mode of ['websocket', 'fallback', 'auto, upgrade blocked'] as const) {
  describe(`ChannelSocket with a real server (${mode})`, () => {
    it('sends typed frames, hears the answers, and gets replies to requests', async () => {
      Object.assign(counts, { tea: 0, coffee: 0 });
      const poll = client('/ws/poll/', mode);
      poll.connect();
      await until(poll, (snapshot) => snapshot.status === 'open');
      assert.equal(poll.getSnapshot().transport, mode === 'websocket' ? 'websocket' : 'fallback');
      const heard = new Promise((resolve) => poll.on('votes', resolve));
      assert.equal(poll.send({ type: 'vote', option: 'tea' }), true);
      assert.deepEqual(await heard, { type: 'votes', counts: { tea: 1, coffee: 0 } });
      assert.deepEqual(await poll.request({ type: 'tally' }), { tea: 1, coffee: 0 });
    });

    it('has a request that fails the schema rejected with invalid_frame', async () => {
      const poll = client('/ws/poll/', mode);
      poll.connect();
      await until(poll, (snapshot) => snapshot.status === 'open');
      const bad = poll.request({ type: 'vote', option: 'cocoa' } as never);
      await assert.rejects(bad, (error: unknown) => error instanceof RequestError && error.code === 'invalid_frame' && /option/.test(error.detail));
      assert.equal(poll.getSnapshot().status, 'open');
    });

    it('stops at a 4403 refusal with its reason, after one attempt', async () => {
      const refused = client('/ws/private/', mode);
      refused.connect();
      const snapshot = await until(refused, (state) => state.status === 'closed');
      assert.equal(snapshot.closeCode, 4403);
      assert.equal(snapshot.closeReason, 'members only');
      assert.equal(MembersOnly.attempts, 1);
      MembersOnly.attempts = 0;
    });
  });
}

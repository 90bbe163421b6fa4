/**
 * The client against a real server: `ChannelSocket` over `ws` to a `SocketServer`, a consumer
 * with a zod schema, requests answered and refused, and a refusal the client stops on.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
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
import type { WebSocketLike } from './platform';

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
let sockets: SocketServer;
let base = '';
const clients: ChannelSocket<Poll>[] = [];

before(async () => {
  sockets = new SocketServer({
    application: urlRouter([route('/ws/poll/', PollConsumer), route('/ws/private/', MembersOnly)]),
    layer: new InMemoryChannelLayer(),
    logger: silentLogger,
  });
  server = createServer();
  server.on('upgrade', (req, socket, head: Buffer) => sockets.handleUpgrade(req, socket, head));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  for (const client of clients) client.close();
  await sockets.shutdown();
  server.closeAllConnections();
  server.close();
});

function client(path: string): ChannelSocket<Poll> {
  const socket = new ChannelSocket<Poll>({
    url: `${base}${path}`,
    createSocket: (url) => new WebSocket(url) as unknown as WebSocketLike,
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

describe('ChannelSocket with a real server', () => {
  it('sends typed frames, hears the answers, and gets replies to requests', async () => {
    const poll = client('/ws/poll/');
    poll.connect();
    await until(poll, (snapshot) => snapshot.status === 'open');
    const heard = new Promise((resolve) => poll.on('votes', resolve));
    assert.equal(poll.send({ type: 'vote', option: 'tea' }), true);
    assert.deepEqual(await heard, { type: 'votes', counts: { tea: 1, coffee: 0 } });
    assert.deepEqual(await poll.request({ type: 'tally' }), { tea: 1, coffee: 0 });
  });

  it('has a request that fails the schema rejected with invalid_frame', async () => {
    const poll = client('/ws/poll/');
    poll.connect();
    await until(poll, (snapshot) => snapshot.status === 'open');
    const bad = poll.request({ type: 'vote', option: 'cocoa' } as never);
    await assert.rejects(bad, (error: unknown) => error instanceof RequestError && error.code === 'invalid_frame' && /option/.test(error.detail));
    assert.equal(poll.getSnapshot().status, 'open');
  });

  it('stops at a 4403 refusal with its reason, after one attempt', async () => {
    const refused = client('/ws/private/');
    refused.connect();
    const snapshot = await until(refused, (state) => state.status === 'closed');
    assert.equal(snapshot.closeCode, 4403);
    assert.equal(snapshot.closeReason, 'members only');
    assert.equal(MembersOnly.attempts, 1);
  });
});

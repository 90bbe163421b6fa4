import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { type AddressInfo, connect, createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { AllowedOrigins, InMemoryChannelLayer, originValidator, route, silentLogger, SocketServer, urlRouter, WebsocketConsumer } from 'next-channels';
import { RawSse } from './raw-sse';

const ORIGIN = 'http://bench.example';

class Echo extends WebsocketConsumer {
  override async connect(): Promise<void> {
    await this.accept();
    this.send(`{"type":"welcome","transport":"${this.transport}"}`);
  }
  override receive(text: string): void {
    this.send(text);
  }
}

const closers: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const close of closers.reverse()) await close();
});

/** A SocketServer on an HTTP server, counting the POSTs that carry batches. */
async function start(pingIntervalMs = 25_000): Promise<{ port: number; posts: () => number }> {
  const server: Server = createServer();
  const sockets = new SocketServer({
    application: originValidator(urlRouter([route('/ws/echo/', Echo)]), new AllowedOrigins([ORIGIN])),
    layer: new InMemoryChannelLayer(),
    logger: silentLogger,
    pingIntervalMs,
  });
  let posts = 0;
  server.on('request', (req, res) => {
    if (req.url?.includes('_channels=send')) posts++;
    if (!sockets.handleHttp(req, res)) res.writeHead(404).end();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  closers.push(async () => {
    await sockets.shutdown();
    server.closeAllConnections();
    server.close();
  });
  return { port: (server.address() as AddressInfo).port, posts: () => posts };
}

/**
 * A TCP relay to `port` that passes the server's bytes on a few at a time, each piece written
 * after a pause, so the client reads the response head, the chunk sizes and the events cut
 * anywhere.
 */
async function slicingRelay(port: number): Promise<number> {
  const relay: TcpServer = createTcpServer({ noDelay: true }, (client: Socket) => {
    const upstream = connect(port, '127.0.0.1');
    client.pipe(upstream);
    let queue = Promise.resolve();
    upstream.on('data', (chunk: Buffer) => {
      queue = queue.then(async () => {
        for (let at = 0; at < chunk.length; ) {
          const size = 1 + Math.floor(Math.random() * 7);
          client.write(chunk.subarray(at, at + size));
          at += size;
          await sleep(1);
        }
      });
    });
    upstream.on('close', () => void queue.then(() => client.destroy()));
    client.on('close', () => upstream.destroy());
    client.on('error', () => {});
    upstream.on('error', () => {});
  });
  relay.listen(0, '127.0.0.1');
  await once(relay, 'listening');
  closers.push(() => void relay.close());
  return (relay.address() as AddressInfo).port;
}

/** Opens a client that collects the frames it reads, each read through the callback's bytes. */
async function open(port: number): Promise<{ client: RawSse; frames: string[]; next: (count: number) => Promise<string[]>; chunks: () => number }> {
  const frames: string[] = [];
  let chunks = 0;
  let waiter: { count: number; resolve: () => void } | null = null;
  const client = await RawSse.open({
    host: '127.0.0.1',
    port,
    path: '/ws/echo/?room=a',
    origin: ORIGIN,
    onChunk: () => chunks++,
    onText: (buffer, start, end) => {
      frames.push(buffer.toString('utf8', start, end));
      if (waiter && frames.length >= waiter.count) waiter.resolve();
    },
  });
  closers.push(() => client.close());
  const next = async (count: number): Promise<string[]> => {
    if (frames.length < count) {
      const done = new Promise<void>((resolve) => (waiter = { count, resolve }));
      await Promise.race([done, sleep(5_000).then(() => assert.fail(`${frames.length} of ${count} frames came`))]);
    }
    return frames.splice(0, count);
  };
  return { client, frames, next, chunks: () => chunks };
}

describe('RawSse', () => {
  it('opens a stream, reads frames in place, and POSTs frames the consumer receives', async () => {
    const { port, posts } = await start();
    const { client, next } = await open(port);
    assert.deepEqual(await next(1), ['{"type":"welcome","transport":"fallback"}']);
    // Sent in one go: the first goes at once, the rest wait for its answer and go as one batch.
    const texts = ['{"type":"chat.message","message":"你好"}', 'two\nlines', 'x'.repeat(60_000), '"quoted" \\ and \u2028'];
    for (const text of texts) client.sendText(text);
    assert.deepEqual(await next(texts.length), texts);
    assert.equal(posts(), 2);
    assert.equal(client.closed, false);
  });

  it('reads a stream whose bytes arrive cut anywhere: in the head, the chunk sizes, the frames', async () => {
    const { port } = await start();
    const { client, next, chunks } = await open(await slicingRelay(port));
    assert.deepEqual(await next(1), ['{"type":"welcome","transport":"fallback"}']);
    const texts = ['{"type":"chat.message","message":"字字字字字字字字字字"}', 'two\nlines\n\nand a blank one', '{"n":3}'];
    for (const text of texts) client.sendText(text);
    assert.deepEqual(await next(texts.length), texts);
    assert.ok(chunks() > 50, `${chunks()} reads`);
  });

  it('answers pings with empty batches, so the server keeps the stream', async () => {
    const { port, posts } = await start(60);
    const { client, next } = await open(port);
    await next(1);
    // Two pings without a POST between them would end the stream: ten intervals go by.
    await sleep(600);
    assert.equal(client.closed, false);
    assert.ok(posts() >= 3, `${posts()} beats`);
    client.sendText('still here');
    assert.deepEqual(await next(1), ['still here']);
  });

  it('rejects with the status line when the stream is refused', async () => {
    const { port } = await start();
    await assert.rejects(RawSse.open({ host: '127.0.0.1', port, path: '/ws/echo/', origin: 'http://evil.example', onText: () => {} }), /stream refused: HTTP\/1\.1 403/);
  });
});

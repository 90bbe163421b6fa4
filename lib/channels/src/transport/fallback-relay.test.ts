import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import Redis from 'ioredis';
import WebSocket from 'ws';
import { RedisServer } from '../../../testing/engines';
import { WebsocketConsumer } from '../consumer';
import { silentLogger } from '../logger';
import { PrometheusMetrics } from '../prometheus';
import { RedisChannelLayer } from '../redis/redis-layer';
import { route, urlRouter } from '../routing';
import { SocketServer } from './socket-server';
import { TestStream } from '../../../testing/sse-client';

class Echo extends WebsocketConsumer {
  override receive(text: string): void {
    this.send(text);
  }
}

let redis: RedisServer;
const closers: Array<() => Promise<void>> = [];
before(async () => {
  redis = await RedisServer.start();
});
after(async () => {
  for (const close of closers.reverse()) await close();
  await redis?.dispose();
});

let prefixes = 0;

/** Two processes' worth of servers sharing one Redis, and nothing else: no sticky sessions. */
async function cluster(relayAckTimeoutMs = 5_000): Promise<{ a: string; b: string; stopB: () => Promise<void>; metrics: PrometheusMetrics[] }> {
  const prefix = `relay-${++prefixes}`;
  const bases: string[] = [];
  const stops: Array<() => Promise<void>> = [];
  const metrics = [new PrometheusMetrics(), new PrometheusMetrics()];
  for (let n = 0; n < 2; n++) {
    const layer = await RedisChannelLayer.connect({ url: redis.url, prefix });
    const sockets = new SocketServer({ application: urlRouter([route('/ws/echo/', Echo)]), layer, logger: silentLogger, relayAckTimeoutMs, metrics: metrics[n] });
    const server: Server = createServer((req, res) => {
      if (!sockets.handleHttp(req, res)) res.writeHead(404).end();
    });
    server.on('upgrade', (req, socket, head: Buffer) => sockets.handleUpgrade(req, socket, head));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    bases.push(`http://127.0.0.1:${(server.address() as AddressInfo).port}/ws/echo/`);
    let stopped = false;
    const stop = async (): Promise<void> => {
      if (stopped) return;
      stopped = true;
      await sockets.shutdown();
      server.closeAllConnections();
      server.close();
      await layer.close();
    };
    stops.push(stop);
    closers.push(stop);
  }
  return { a: bases[0]!, b: bases[1]!, stopB: stops[1]!, metrics };
}

describe('the HTTP fallback across processes', () => {
  it('delivers batches POSTed to either process in order, once', async () => {
    const { a, b, metrics } = await cluster();
    const stream = await TestStream.open(a);
    closers.push(async () => stream.abort());
    const sent: string[] = [];
    for (let post = 0; post < 60; post++) {
      const frames = Array.from({ length: 5 }, (_, n) => `第${post * 5 + n}条`);
      sent.push(...frames);
      const answer = await stream.sendVia(post % 2 === 0 ? b : a, ...frames);
      assert.equal(answer.status, 204);
    }
    // One batch answered on the other process is sent again, through it: delivered once.
    const again = await stream.post({ seq: 296, frames: sent.slice(295) }, {}, b);
    assert.deepEqual([again.status, again.next], [204, 301]);
    const received: string[] = [];
    while (received.length < sent.length) received.push(await stream.frame());
    assert.deepEqual(received, sent);
    await stream.sendVia(b, 'last');
    assert.equal(await stream.frame(), 'last');
    const [onA, onB] = await Promise.all(metrics.map((each) => each.registry.metrics()));
    assert.match(onA!, /channels_fallback_posts_total\{outcome="local"\} 30\n/);
    assert.match(onB!, /channels_fallback_posts_total\{outcome="relayed"\} 32\n/);
    assert.match(onA!, /channels_fallback_connections_open 1\n/);
  });

  it('refuses a wrong token through the other process, and sends only the token hash through Redis', async () => {
    const { a, b } = await cluster();
    const stream = await TestStream.open(a);
    closers.push(async () => stream.abort());
    const client = new Redis(redis.url);
    const monitor = await client.monitor();
    const seen: string[] = [];
    monitor.on('monitor', (_time: string, args: string[]) => seen.push(args.join(' ')));
    try {
      assert.equal((await stream.post({ seq: 1, frames: ['x'] }, { 'x-channels-token': 'B'.repeat(43) }, b)).status, 403);
      assert.equal((await stream.sendVia(b, 'mine')).status, 204);
      assert.equal(await stream.frame(), 'mine');
      assert.ok(seen.some((command) => command.includes('fallback_post')), 'the batches crossed through Redis');
      assert.ok(!seen.some((command) => command.includes(stream.open!.token)), 'the token never reaches Redis');
    } finally {
      monitor.disconnect();
      client.disconnect();
    }
  });

  it('answers 504 when the process holding the stream is gone', async () => {
    const { a, b, stopB } = await cluster(200);
    const stream = await TestStream.open(b);
    await stopB();
    assert.equal((await stream.post({ seq: 1, frames: ['x'] }, {}, a)).status, 504);
  });

  it("relays to fallback connections only: a consumer's own channel on the other process is out of reach", async () => {
    const { a, b } = await cluster();
    const victim = new WebSocket(a.replace('http', 'ws'));
    await once(victim, 'open');
    closers.push(async () => victim.terminate());
    // A stream's id names its process; a consumer's channel there is `specific.<process>!<n>`.
    const stream = await TestStream.open(a);
    closers.push(async () => stream.abort());
    const processTag = /\.([^.!]+)!/.exec(stream.open!.connection)![1]!;
    for (let n = 0; n < 4; n++) {
      const answer = await stream.post({ seq: 1, frames: ['x'] }, { 'x-channels-connection': `specific.${processTag}!${n.toString(36)}` }, b);
      assert.equal(answer.status, 403);
    }
    victim.send('still here');
    const [echo] = (await once(victim, 'message')) as [Buffer];
    assert.equal(echo.toString(), 'still here');
  });
});

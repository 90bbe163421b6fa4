import assert from 'node:assert/strict';
import { EventEmitter, once } from 'node:events';
import { createServer, get, request, type Server } from 'node:http';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import WebSocket from 'ws';
import type { JsonObject } from '../connection';
import { type EventHandlers, type EventOf, WebsocketConsumer } from '../consumer';
import { InMemoryChannelLayer } from '../layers/in-memory';
import { silentLogger } from '../logger';
import { AllowedOrigins, originValidator } from '../middleware/origin';
import { route, urlRouter } from '../routing';
import { createGuardedServer } from './http-guard';
import { SocketServer, type SocketServerOptions } from './socket-server';
import { TestStream } from '../../../testing/sse-client';

const disconnected = new EventEmitter();

class Echo extends WebsocketConsumer {
  override async connect(): Promise<void> {
    await this.accept();
    this.send(`on ${this.transport}`);
  }
  override receive(text: string): void {
    if (text === 'flood') for (let n = 0; n < 400; n++) this.send('x'.repeat(100_000));
    else if (text === 'bye') this.close(4000, 'asked to');
    else this.send(text);
  }
  override disconnect(code: number): void {
    disconnected.emit('code', code);
  }
}

type BroadcastEvents = { 'test.frame': { readonly frame: JsonObject } };

class Member extends WebsocketConsumer<Record<string, string>, BroadcastEvents> implements EventHandlers<BroadcastEvents> {
  override readonly groups = ['room.members'];
  'test.frame'(event: EventOf<BroadcastEvents, 'test.frame'>): void {
    this.send(event.frame);
  }
}

class Buggy extends WebsocketConsumer {
  override receive(): void {
    throw new TypeError('a bug');
  }
}

class NeverAccepts extends WebsocketConsumer {
  override connect(): Promise<void> {
    return new Promise(() => {});
  }
}

const servers: Array<{ server: Server; sockets: SocketServer }> = [];
const streams: TestStream[] = [];
after(async () => {
  for (const stream of streams) stream.abort();
  await Promise.all(servers.map(({ sockets }) => sockets.shutdown()));
  for (const { server } of servers) {
    server.closeAllConnections();
    server.close();
  }
});

const ORIGIN = 'http://app.example';

async function start(options: Partial<SocketServerOptions> = {}, makeServer: () => Server = createServer): Promise<{ base: string; sockets: SocketServer; layer: InMemoryChannelLayer }> {
  const server = makeServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const layer = new InMemoryChannelLayer();
  const routes = urlRouter([route('/ws/echo/', Echo), route('/ws/member/', Member), route('/ws/buggy/', Buggy), route('/ws/stuck/', NeverAccepts)]);
  const sockets = new SocketServer({
    application: originValidator(routes, new AllowedOrigins([ORIGIN, base])),
    layer,
    logger: silentLogger,
    ...options,
  });
  server.on('upgrade', (req, socket, head: Buffer) => sockets.handleUpgrade(req, socket, head));
  server.on('request', (req, res) => {
    if (!sockets.handleHttp(req, res)) res.writeHead(418).end();
  });
  servers.push({ server, sockets });
  return { base, sockets, layer };
}

async function stream(url: string, headers: Record<string, string> = { origin: ORIGIN }, method: 'POST' | 'GET' = 'POST'): Promise<TestStream> {
  const opened = await TestStream.open(url, { headers, method });
  streams.push(opened);
  return opened;
}

describe('the HTTP fallback', () => {
  it('carries text both ways, and the consumer knows its transport', async () => {
    const { base } = await start();
    const echo = await stream(`${base}/ws/echo/`);
    assert.equal(echo.status, 200);
    assert.match(echo.headers.get('content-type') ?? '', /^text\/event-stream/);
    assert.equal(echo.headers.get('x-accel-buffering'), 'no');
    assert.match(echo.open!.token, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(await echo.frame(), 'on fallback');
    assert.deepEqual((await echo.send('你好', 'two\nlines')).status, 204);
    assert.equal(await echo.frame(), '你好');
    assert.equal(await echo.frame(), 'two\nlines');
  });

  it('delivers a batch sent again once, and answers a gap with the frame it expects', async () => {
    const { base } = await start();
    const echo = await stream(`${base}/ws/echo/`);
    await echo.frame();
    assert.equal((await echo.post({ seq: 1, frames: ['a', 'b'] })).next, 3);
    const again = await echo.post({ seq: 1, frames: ['a', 'b', 'c'] });
    assert.deepEqual([again.status, again.next], [204, 4]);
    const gap = await echo.post({ seq: 9, frames: ['z'] });
    assert.deepEqual([gap.status, JSON.parse(gap.body)], [409, { expected: 4 }]);
    assert.equal((await echo.post({ seq: 4, frames: [] })).next, 4);
    assert.deepEqual([await echo.frame(), await echo.frame(), await echo.frame()], ['a', 'b', 'c']);
  });

  it('refuses a POST without the token, from another Origin, or not JSON', async () => {
    const { base } = await start();
    const echo = await stream(`${base}/ws/echo/`);
    const frames = { seq: 1, frames: ['x'] };
    assert.equal((await echo.post(frames, { 'x-channels-token': 'A'.repeat(43) })).status, 403);
    assert.equal((await echo.post(frames, { 'x-channels-token': 'short' })).status, 403);
    assert.equal((await echo.post(frames, { origin: 'http://evil.example' })).status, 403);
    assert.equal((await echo.post(frames, { 'content-type': 'text/plain' })).status, 415);
    assert.equal((await echo.post('{"seq":0,"frames":[]}')).status, 400);
    assert.equal((await echo.post('not json')).status, 400);
    const unknown = echo.open!.connection.replace(/![^!]*$/, '!zz');
    assert.equal((await echo.post(frames, { 'x-channels-connection': unknown })).status, 404);
    assert.equal(await echo.frame(), 'on fallback');
    assert.equal((await echo.send('still mine')).status, 204);
    assert.equal(await echo.frame(), 'still mine');
  });

  it('answers a body over the limit with 413 without reading it', async () => {
    const { base } = await start({ maxPostBytes: 1024 });
    const echo = await stream(`${base}/ws/echo/`);
    const answer = await echo.post({ seq: 1, frames: ['x'.repeat(4096)] });
    assert.equal(answer.status, 413);
    assert.equal((await echo.send('ok')).status, 204);
  });

  for (const [name, frames, code] of [
    ['a frame over the limit', ['x'.repeat(2048)], 1009],
    ['a lone surrogate', ['\uD800'], 1007],
    ['a frame that is not text', [{ binary: true }], 1003],
  ] as const) {
    it(`closes on ${name} (${code}), after the frames before it`, async () => {
      const { base } = await start({ maxPayloadBytes: 1024 });
      const echo = await stream(`${base}/ws/echo/`);
      await echo.frame();
      const gone = once(disconnected, 'code');
      assert.equal((await echo.post({ seq: 1, frames: ['first', ...frames] })).status, 204);
      assert.equal(await echo.frame(), 'first');
      assert.equal((await echo.closed()).code, code);
      assert.deepEqual(await gone, [code]);
    });
  }

  it('refuses an unknown path with 404 and a foreign Origin with 403, as the upgrade does', async () => {
    const { base } = await start();
    assert.equal((await stream(`${base}/ws/nowhere/`)).status, 404);
    assert.equal((await stream(`${base}/ws/echo/`, { origin: 'http://evil.example' })).status, 403);
  });

  it('counts streams and WebSockets against one cap per address', async () => {
    const { base } = await start({ maxConnectionsPerAddress: 2 });
    const echo = await stream(`${base}/ws/echo/`);
    const ws = new WebSocket(`${base.replace('http', 'ws')}/ws/echo/`, { origin: ORIGIN });
    await once(ws, 'open');
    assert.equal((await stream(`${base}/ws/echo/`)).status, 429);
    ws.close();
    await once(ws, 'close');
    echo.abort();
    await once(disconnected, 'code');
    assert.equal((await stream(`${base}/ws/echo/`)).status, 200);
  });

  it('closes with 1011 when the consumer fails, and the consumer hears a dropped stream as 1006', async () => {
    const { base } = await start();
    const buggy = await stream(`${base}/ws/buggy/`);
    await buggy.send('x');
    assert.equal((await buggy.closed()).code, 1011);
    const echo = await stream(`${base}/ws/echo/`);
    await echo.frame();
    const gone = once(disconnected, 'code');
    echo.abort();
    assert.deepEqual(await gone, [1006]);
  });

  it("passes the consumer's close code and reason, and the client's own close", async () => {
    const { base } = await start();
    const echo = await stream(`${base}/ws/echo/`);
    await echo.send('bye');
    assert.deepEqual(await echo.closed(), { code: 4000, reason: 'asked to' });
    const other = await stream(`${base}/ws/echo/`);
    const gone = once(disconnected, 'code');
    assert.equal((await other.post({ seq: 1, frames: [], close: 1000 })).status, 204);
    assert.deepEqual(await gone, [1000]);
  });

  it('ends a stream whose client stops answering pings, and the consumer hears 1006', async () => {
    const { base } = await start({ pingIntervalMs: 50 });
    const echo = await stream(`${base}/ws/echo/`);
    const gone = once(disconnected, 'code');
    let pings = 0;
    for (;;) {
      try {
        const next = await echo.next();
        if (next.event === 'ping') pings++;
      } catch {
        break;
      }
    }
    assert.ok(pings >= 2, `${pings} pings`);
    assert.deepEqual(await gone, [1006]);
  });

  it('keeps a stream whose client answers pings with empty batches', async () => {
    const { base } = await start({ pingIntervalMs: 40 });
    const echo = await stream(`${base}/ws/echo/`);
    for (let pings = 0; pings < 5; ) {
      const next = await echo.next();
      if (next.event !== 'ping') continue;
      pings++;
      assert.equal((await echo.post({ seq: 1, frames: [] })).status, 204);
    }
    await echo.send('alive');
    assert.equal(await echo.frame(), 'alive');
  });

  it('drops a stream whose application never accepts, at the handshake timeout', async () => {
    const { base, sockets } = await start({ handshakeTimeoutMs: 40 });
    await assert.rejects(stream(`${base}/ws/stuck/`));
    assert.equal(sockets.connectionCount, 0);
  });

  it('closes a client that stops reading with 1013, while the others receive', async () => {
    const { base } = await start();
    const slow = await stream(`${base}/ws/echo/`);
    const fast = await stream(`${base}/ws/echo/`);
    const gone = once(disconnected, 'code');
    await slow.send('flood');
    assert.deepEqual(await gone, [1013]);
    await fast.send('still here');
    assert.equal(await fast.frame(), 'on fallback');
    assert.equal(await fast.frame(), 'still here');
  });

  it('encodes a broadcast once for every stream', async () => {
    const { base, layer } = await start();
    const members = await Promise.all([1, 2, 3].map(() => stream(`${base}/ws/member/`)));
    let serialisations = 0;
    const frame = {
      toJSON() {
        serialisations++;
        return { type: 'news', text: '一次' };
      },
    } as unknown as JsonObject;
    await layer.groupSend('room.members', { type: 'test.frame', frame });
    for (const member of members) assert.equal(await member.frame(), '{"type":"news","text":"一次"}');
    assert.equal(serialisations, 1);
  });

  it('closes streams with 1001 on shutdown, and answers new ones 503', async () => {
    const { base, sockets } = await start();
    const echo = await stream(`${base}/ws/echo/`);
    await echo.frame();
    const shutdown = sockets.shutdown();
    assert.equal((await echo.closed()).code, 1001);
    await shutdown;
    assert.equal((await stream(`${base}/ws/echo/`)).status, 503);
    // The probe too: a server on its way down must not look like a network blocking upgrades.
    assert.equal((await fetch(`${base}/ws/echo/?_channels=probe`)).status, 503);
  });

  it('keeps a stream open past the HTTP server request timeout', async () => {
    const { base } = await start({}, () => createGuardedServer({ requestTimeoutMs: 100, headersTimeoutMs: 100 }));
    const echo = await stream(`${base}/ws/echo/`);
    await echo.frame();
    await new Promise((resolve) => setTimeout(resolve, 400));
    await echo.send('later');
    assert.equal(await echo.frame(), 'later');
  });

  it('takes a same-origin GET (an EventSource) by its Host, and refuses one from elsewhere', async () => {
    const { base } = await start();
    const same = await stream(`${base}/ws/echo/`, { 'sec-fetch-site': 'same-origin' }, 'GET');
    assert.equal(same.status, 200);
    assert.equal(await same.frame(), 'on fallback');
    // fetch sets Host itself: a rebound name is sent by hand.
    const rebound = await new Promise<number>((resolve, reject) => {
      get(`${base}/ws/echo/?_channels=sse`, { headers: { 'sec-fetch-site': 'same-origin', host: 'evil.example' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      }).on('error', reject);
    });
    assert.equal(rebound, 403);
    assert.equal((await stream(`${base}/ws/echo/`, {}, 'GET')).status, 403);
  });

  it('answers the probes without running the application', async () => {
    const { base, sockets } = await start();
    const probe = await fetch(`${base}/ws/nowhere/?_channels=probe`);
    assert.deepEqual([probe.status, probe.headers.get('x-channels-probe')], [204, '1']);
    const ws = new WebSocket(`${base.replace('http', 'ws')}/ws/nowhere/?_channels=probe`);
    const [code, reason] = (await once(ws, 'close')) as [number, Buffer];
    assert.deepEqual([code, reason.toString()], [1000, 'probe']);
    assert.equal(sockets.connectionCount, 0);
  });

  it('leaves other requests to the app', async () => {
    const { base } = await start();
    assert.equal((await fetch(`${base}/ws/echo/`)).status, 418);
    assert.equal((await fetch(`${base}/ws/echo/?_channels=other`)).status, 418);
  });

  it('drops a client that closes and then reads nothing, after the close timeout', async () => {
    const { base, sockets } = await start({ closeTimeoutMs: 100, maxBufferedBytes: 256 * 1024 * 1024 });
    const { port } = new URL(base);
    // A raw client that stops reading once it has the token: the server's writes back up.
    const raw = connect(Number(port), '127.0.0.1');
    raw.write(`POST /ws/echo/?_channels=sse HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: ${ORIGIN}\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}`);
    let head = '';
    while (!/"token":"[^"]+"/.test(head)) head += String((await once(raw, 'data'))[0]);
    raw.pause();
    const open = JSON.parse(/data: (\{"connection".*\})/.exec(head)![1]!) as { connection: string; token: string };
    const post = (body: unknown) =>
      fetch(`${base}/ws/echo/?_channels=send`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: ORIGIN, 'x-channels-connection': open.connection, 'x-channels-token': open.token },
        body: JSON.stringify(body),
      });
    assert.equal((await post({ seq: 1, frames: ['flood'] })).status, 204);
    const gone = once(disconnected, 'code');
    assert.equal((await post({ seq: 2, frames: [], close: 1000 })).status, 204);
    assert.deepEqual(await gone, [1000]);
    assert.equal(sockets.connectionCount, 0);
    raw.destroy();
  });

  it('refuses a POST with the wrong token for a stream it holds before reading its body', async () => {
    const { base } = await start();
    const echo = await stream(`${base}/ws/echo/`);
    const status = await new Promise<number>((resolve, reject) => {
      const post = request(`${base}/ws/echo/?_channels=send`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: ORIGIN, 'content-length': 200_000, 'x-channels-connection': echo.open!.connection, 'x-channels-token': 'C'.repeat(43) },
      });
      post.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      post.on('error', reject);
      // Only a little of the body, and never the rest.
      post.write('{"seq":1,');
    });
    assert.equal(status, 403);
  });

  it('refuses probes past their budget, and drops a probe whose client never answers the close', async () => {
    // The budget refills slowly enough that the time the probes take never gives one back.
    const { base } = await start({ probeLimit: { rate: 60, perMs: 3_600_000, burst: 60 } });
    const { port } = new URL(base);
    const raw = connect(Number(port), '127.0.0.1');
    raw.write('GET /ws/echo/?_channels=probe HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
    raw.resume();
    // The client never sends its close frame: the server drops the socket after a second, not ws's 30 s.
    await once(raw, 'close');
    const statuses: number[] = [];
    for (let n = 0; n < 60; n++) {
      const ws = new WebSocket(`${base.replace('http', 'ws')}/ws/echo/?_channels=probe`);
      statuses.push(
        await new Promise<number>((resolve, reject) => {
          ws.once('close', () => resolve(101));
          ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
          ws.once('error', reject);
        }),
      );
    }
    // The raw probe took one of the 60.
    assert.deepEqual(statuses.slice(0, 59), Array<number>(59).fill(101));
    assert.deepEqual(statuses.slice(59), [429]);
  });
});

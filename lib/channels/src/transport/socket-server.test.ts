import assert from 'node:assert/strict';
import { EventEmitter, once } from 'node:events';
import { createServer, request, type Server } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import type { Duplex } from 'node:stream';
import { after, describe, it } from 'node:test';
import WebSocket from 'ws';
import { CloseCode } from '../close-codes';
import type { JsonObject } from '../connection';
import { type EventHandlers, type EventOf, WebsocketConsumer } from '../consumer';
import { InMemoryChannelLayer } from '../layers/in-memory';
import { silentLogger } from '../logger';
import { createGuardedServer } from './http-guard';
import { ProxyTrust } from './proxy-trust';
import { route, urlRouter } from '../routing';
import { SocketServer, type SocketServerOptions } from './socket-server';

const disconnected = new EventEmitter();

class Echo extends WebsocketConsumer {
  override receive(text: string): void {
    // Far more than the kernel's socket buffers hold, so a reader that stops falls behind.
    if (text === 'flood') for (let n = 0; n < 400; n++) this.send('x'.repeat(100_000));
    else this.send(text);
  }
  override disconnect(code: number): void {
    disconnected.emit('code', code);
  }
}

type BroadcastEvents = { 'test.frame': { readonly frame: JsonObject } };

/** Joins one group; its events carry a frame object that every member sends as it is. */
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

/** Greets at once with the headers its scope holds. */
class Greeter extends WebsocketConsumer {
  override async connect(): Promise<void> {
    await this.accept();
    this.send(Object.keys(this.scope.headers).sort().join(','));
  }
}

const stuck = new EventEmitter();

class NeverAccepts extends WebsocketConsumer {
  override connect(): Promise<void> {
    stuck.emit('connecting');
    return new Promise(() => {});
  }
}

const servers: Array<{ server: Server; sockets: SocketServer }> = [];
const clients: WebSocket[] = [];
after(async () => {
  for (const client of clients) client.terminate();
  await Promise.all(servers.map(({ sockets }) => sockets.shutdown()));
  for (const { server } of servers) {
    server.closeAllConnections();
    server.close();
  }
});

async function start(
  options: Partial<SocketServerOptions> = {},
): Promise<{ url: string; sockets: SocketServer; layer: InMemoryChannelLayer }> {
  const layer = new InMemoryChannelLayer();
  const sockets = new SocketServer({
    application: urlRouter([route('/ws/echo/', Echo), route('/ws/stuck/', NeverAccepts), route('/ws/member/', Member), route('/ws/buggy/', Buggy), route('/ws/greeter/', Greeter)]),
    layer,
    logger: silentLogger,
    ...options,
  });
  const server = createServer();
  server.on('upgrade', (req, socket, head: Buffer) => sockets.handleUpgrade(req, socket, head));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  servers.push({ server, sockets });
  return { url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}`, sockets, layer };
}

/** Resolves with the HTTP status of a refused handshake, or 101 when it opens. */
function handshake(url: string, options: WebSocket.ClientOptions = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, options);
    ws.once('open', () => {
      ws.close();
      resolve(101);
    });
    ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.once('error', reject);
  });
}

async function connected(url: string, options: WebSocket.ClientOptions = {}): Promise<WebSocket> {
  const ws = new WebSocket(url, options);
  clients.push(ws);
  await once(ws, 'open');
  return ws;
}

async function closeCode(ws: WebSocket): Promise<number> {
  const [code] = (await once(ws, 'close')) as [number];
  return code;
}

describe('SocketServer', () => {
  it('runs the application on an upgrade and carries text both ways', async () => {
    const { url } = await start();
    const ws = await connected(`${url}/ws/echo/`);
    ws.send('你好');
    const [data] = (await once(ws, 'message')) as [Buffer];
    assert.equal(data.toString(), '你好');
    ws.close();
    assert.equal(await closeCode(ws), 1005);
  });

  it("leaves an open connection's socket with ws's listeners only, not the handshake's or the HTTP guard's", async () => {
    // An idle connection keeps every listener on its socket; a list grown past two keeps an
    // array of 17 slots.
    const sockets = new SocketServer({ application: urlRouter([route('/ws/echo/', Echo)]), layer: new InMemoryChannelLayer(), logger: silentLogger });
    const server = createGuardedServer();
    const upgraded: Duplex[] = [];
    server.on('upgrade', (req, socket, head: Buffer) => {
      upgraded.push(socket);
      sockets.handleUpgrade(req, socket, head);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    servers.push({ server, sockets });
    const ws = await connected(`ws://127.0.0.1:${(server.address() as AddressInfo).port}/ws/echo/`);
    ws.send('up');
    await once(ws, 'message');
    const [socket] = upgraded;
    assert.ok(socket);
    assert.deepEqual(
      ['close', 'end', 'error', 'data'].map((event) => `${event} ${socket.listenerCount(event)}`),
      // net's own 'end' listener, and ws's one of each.
      ['close 1', 'end 2', 'error 1', 'data 1'],
    );
  });

  it('serialises a group message once and writes the same bytes to every member', async () => {
    const { url, layer } = await start();
    const members = await Promise.all([1, 2, 3].map(() => connected(`${url}/ws/member/`)));
    let serialisations = 0;
    const frame = {
      toJSON() {
        serialisations++;
        return { type: 'news', text: '一次' };
      },
    } as unknown as JsonObject;
    const received = members.map((ws) => once(ws, 'message') as Promise<[Buffer]>);
    await layer.groupSend('room.members', { type: 'test.frame', frame });
    for (const [data] of await Promise.all(received)) assert.equal(data.toString(), '{"type":"news","text":"一次"}');
    assert.equal(serialisations, 1);
  });

  it('keeps the request headers in the scope, but not those the handshake spends', async () => {
    const { url } = await start();
    const ws = new WebSocket(`${url}/ws/greeter/`, { headers: { 'x-client': 'test' }, origin: 'http://example.test' });
    clients.push(ws);
    // The greeting comes with the 101, so it is heard from the start.
    const [data] = (await once(ws, 'message')) as [Buffer];
    assert.equal(data.toString(), 'host,origin,x-client');
  });

  it('sends the handshake response and the first frames in one write', async () => {
    const { url } = await start();
    const socket = connect(Number(new URL(url).port), '127.0.0.1');
    socket.write(
      'GET /ws/greeter/ HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
    const [first] = (await once(socket, 'data')) as [Buffer];
    socket.destroy();
    const text = first.toString('latin1');
    assert.match(text, /^HTTP\/1\.1 101 /);
    assert.ok(text.endsWith('\r\n\r\n\x81\x04host'), 'the greeting came in the same chunk as the 101');
  });

  it('answers 404 for a path no route matches', async () => {
    const { url } = await start();
    assert.equal(await handshake(`${url}/ws/missing/`), 404);
  });

  it('answers 400 to a request that is not a WebSocket upgrade', async () => {
    const { url } = await start();
    const status = await new Promise<number>((resolve) => {
      const req = request(`${url.replace('ws:', 'http:')}/ws/echo/`, { headers: { connection: 'Upgrade', upgrade: 'websocket' } });
      req.on('response', (res) => resolve(res.statusCode ?? 0));
      req.end();
    });
    assert.equal(status, 400);
  });

  it('answers 429 past the per-address limit, and lets in again once one leaves', async () => {
    const { url } = await start({ maxConnectionsPerAddress: 2 });
    const first = await connected(`${url}/ws/echo/`);
    await connected(`${url}/ws/echo/`);
    assert.equal(await handshake(`${url}/ws/echo/`), 429);
    // The server counts the socket gone when its close completes: wait for the disconnect hook.
    const gone = once(disconnected, 'code');
    first.close();
    await gone;
    assert.equal(await handshake(`${url}/ws/echo/`), 101);
  });

  it('counts handshakes still in progress against the per-address limit', async () => {
    const { url } = await start({ maxConnectionsPerAddress: 2 });
    const pending: WebSocket[] = [];
    for (let n = 0; n < 2; n++) {
      const connecting = once(stuck, 'connecting');
      const ws = new WebSocket(`${url}/ws/stuck/`);
      ws.on('error', () => {});
      clients.push(ws);
      pending.push(ws);
      await connecting;
    }
    assert.equal(await handshake(`${url}/ws/echo/`), 429);
    // One goes away mid-handshake: its place is free again.
    const gone = new Promise((resolve) => pending[0]!.once('close', resolve));
    pending[0]!.terminate();
    await gone;
    assert.equal(await handshake(`${url}/ws/echo/`), 101);
  });

  it('does not let a forged X-Forwarded-For lift the per-address cap when the peer is not a trusted proxy', async () => {
    // The test's client connects from 127.0.0.1, which is not in the trusted range.
    const { url } = await start({ trustProxy: ProxyTrust.parse('10.0.0.0/8') });
    for (let n = 0; n < 50; n++) await connected(`${url}/ws/echo/`, { headers: { 'x-forwarded-for': `203.0.113.${n}` } });
    assert.equal(await handshake(`${url}/ws/echo/`, { headers: { 'x-forwarded-for': '203.0.113.200' } }), 429);
  });

  it("counts the forwarded client address when the peer is a trusted proxy, walking past trusted hops", async () => {
    const { url } = await start({ maxConnectionsPerAddress: 1, trustProxy: ProxyTrust.parse('127.0.0.1/32, 10.0.0.0/8') });
    await connected(`${url}/ws/echo/`, { headers: { 'x-forwarded-for': '203.0.113.1' } });
    assert.equal(await handshake(`${url}/ws/echo/`, { headers: { 'x-forwarded-for': '203.0.113.2' } }), 101);
    // Left of the proxy's entry is the client's own text; right of it, proxies that are trusted.
    assert.equal(await handshake(`${url}/ws/echo/`, { headers: { 'x-forwarded-for': '198.51.100.9, 203.0.113.1' } }), 429);
    assert.equal(await handshake(`${url}/ws/echo/`, { headers: { 'x-forwarded-for': '203.0.113.1, 10.0.0.5' } }), 429);
  });

  it('closes with 1009 on a frame over the payload limit', async () => {
    const { url } = await start({ maxPayloadBytes: 1024 });
    const ws = await connected(`${url}/ws/echo/`);
    ws.send('x'.repeat(1025));
    assert.equal(await closeCode(ws), CloseCode.MessageTooBig);
  });

  it('closes with 1007 on text that is not UTF-8', async () => {
    const { url } = await start();
    const ws = await connected(`${url}/ws/echo/`);
    ws.send(Buffer.from([0xff, 0xfe, 0xfd]), { binary: false });
    assert.equal(await closeCode(ws), CloseCode.InvalidPayload);
  });

  it('closes only the connection whose consumer has a bug, with 1011', async () => {
    const { url } = await start();
    const buggy = await connected(`${url}/ws/buggy/`);
    const fine = await connected(`${url}/ws/echo/`);
    buggy.send('trigger');
    assert.equal(await closeCode(buggy), CloseCode.InternalError);
    fine.send('still here');
    const [data] = (await once(fine, 'message')) as [Buffer];
    assert.equal(data.toString(), 'still here');
  });

  it('closes with 1003 on a binary frame', async () => {
    const { url } = await start();
    const ws = await connected(`${url}/ws/echo/`);
    ws.send(Buffer.from([1, 2, 3]));
    assert.equal(await closeCode(ws), CloseCode.UnsupportedData);
  });

  it('terminates a peer that stops answering pings', async () => {
    const { url } = await start({ pingIntervalMs: 20 });
    const ws = await connected(`${url}/ws/echo/`, { autoPong: false });
    assert.equal(await closeCode(ws), CloseCode.Abnormal);
  });

  it('keeps a peer that answers pings', async () => {
    const { url } = await start({ pingIntervalMs: 10 });
    const ws = await connected(`${url}/ws/echo/`);
    let pings = 0;
    while (pings < 5) {
      await once(ws, 'ping');
      pings++;
    }
    assert.equal(ws.readyState, WebSocket.OPEN);
    ws.close();
  });

  it('destroys a socket whose handshake is not completed in time', async () => {
    const { url, sockets } = await start({ handshakeTimeoutMs: 30 });
    const ws = new WebSocket(`${url}/ws/stuck/`);
    clients.push(ws);
    const [error] = (await once(ws, 'error')) as [Error];
    assert.match(error.message, /socket hang up|ECONNRESET/);
    assert.equal(sockets.connectionCount, 0);
  });

  it('drops a client that stops reading (close 1013, then cut off), while others keep receiving', async () => {
    const { url, sockets } = await start({ maxBufferedBytes: 64 * 1024, closeTimeoutMs: 50 });
    const stalled = await connected(`${url}/ws/echo/`);
    const reader = await connected(`${url}/ws/echo/`);
    const gone = once(disconnected, 'code');
    (stalled as unknown as { _socket: { pause(): void } })._socket.pause();
    stalled.send('flood');
    // Closed with 1013; the stalled peer never reads the close frame, so it is dropped after the close timeout.
    assert.deepEqual(await gone, [CloseCode.Abnormal]);
    reader.send('still served');
    const [data] = (await once(reader, 'message')) as [Buffer];
    assert.equal(data.toString(), 'still served');
    assert.equal(sockets.connectionCount, 1);
  });

  it('closes every socket with 1001 on shutdown and refuses new ones with 503', async () => {
    const { url, sockets } = await start();
    const clients = await Promise.all([connected(`${url}/ws/echo/`), connected(`${url}/ws/echo/`)]);
    const codes = clients.map(closeCode);
    await sockets.shutdown();
    assert.deepEqual(await Promise.all(codes), [CloseCode.GoingAway, CloseCode.GoingAway]);
    assert.equal(await handshake(`${url}/ws/echo/`), 503);
  });
});

import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { type AddressInfo, connect, type Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import { createGuardedServer, type HttpGuardOptions } from './http-guard';
import { PrometheusMetrics } from '../prometheus';
import { ProxyTrust } from './proxy-trust';

/** Without the guard, Node holds these sockets for a minute or more: a test that waits for them fails at this instead. */
const TEST_TIMEOUT_MS = 5_000;
const SLOW_HEAD = 'GET / HTTP/1.1\r\nHost: test\r\n';
const SLOW_UPGRADE = 'GET /ws/ HTTP/1.1\r\nHost: test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n';

/** A guarded server on a free port: `/held` waits for `release()`; every other path answers `ok`. */
class Harness {
  readonly server: Server;
  readonly metrics = new PrometheusMetrics();
  #held: Array<() => void> = [];
  #heldArrived: Array<() => void> = [];

  constructor(options: HttpGuardOptions) {
    this.server = createGuardedServer({ metrics: this.metrics, ...options });
    this.server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      if (req.url === '/held') {
        this.#held.push(() => res.end('ok'));
        this.#heldArrived.shift()?.();
      } else {
        req.resume();
        req.on('end', () => res.end('ok'));
      }
    });
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  async listen(): Promise<this> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    harnesses.push(this);
    return this;
  }

  /** Resolves when a request for `/held` is in its handler. */
  heldArrived(): Promise<void> {
    return new Promise((resolve) => this.#heldArrived.push(resolve));
  }

  release(): void {
    for (const end of this.#held.splice(0)) end();
  }

  /** Connects a client and resolves once the server has handled the connection, with both ends. */
  async open(head = '', localAddress = '127.0.0.1'): Promise<Opened> {
    const accepted = once(this.server, 'connection') as Promise<[Socket]>;
    const client = new Client(connect({ port: this.port, host: '127.0.0.1', localAddress }));
    clients.push(client);
    await once(client.socket, 'connect');
    const [server] = await accepted;
    if (head) client.socket.write(head);
    return { client, server };
  }

  async dropped(reason: 'refused' | 'idle_closed'): Promise<number> {
    const text = await this.metrics.registry.getSingleMetricAsString('channels_http_connections_dropped_total');
    return Number(new RegExp(`reason="${reason}"} (\\d+)`).exec(text)?.[1] ?? 0);
  }
}

/** Both ends of a connection. */
interface Opened {
  readonly client: Client;
  readonly server: Socket;
}

/** A raw TCP client: what it received, and when it closed. */
class Client {
  readonly socket: Socket;
  received = '';
  readonly closed: Promise<string>;
  #responses: Array<{ count: number; resolve: () => void }> = [];

  constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.received += chunk.toString('latin1');
      const count = this.received.split('HTTP/1.1 ').length - 1;
      this.#responses = this.#responses.filter((waiter) => (waiter.count <= count ? (waiter.resolve(), false) : true));
    });
    // A refusal may reach a client that has sent something as a reset.
    socket.on('error', () => {});
    this.closed = new Promise((resolve) => socket.once('close', () => resolve(this.received)));
  }

  /** Sends a complete GET and resolves once its response (`ok`, two bytes) has arrived. */
  async get(path = '/'): Promise<string> {
    const before = this.received.length;
    const count = this.received.split('HTTP/1.1 ').length;
    const arrived = new Promise<void>((resolve) => this.#responses.push({ count, resolve }));
    this.socket.write(`GET ${path} HTTP/1.1\r\nHost: test\r\n\r\n`);
    await arrived;
    while (!this.received.endsWith('\r\n\r\nok')) await once(this.socket, 'data');
    return this.received.slice(before);
  }
}

const harnesses: Harness[] = [];
const clients: Client[] = [];
after(() => {
  for (const client of clients) client.socket.destroy();
  for (const harness of harnesses) {
    harness.server.closeAllConnections();
    harness.server.close();
  }
});

describe('createGuardedServer', () => {
  it('refuses connections past the per-address cap of sockets with no request in progress, while a request in progress is served', { timeout: TEST_TIMEOUT_MS }, async () => {
    const harness = await new Harness({ maxIdleSocketsPerAddress: 3 }).listen();
    const inProgress = await harness.open();
    const arrived = harness.heldArrived();
    const answer = inProgress.client.get('/held');
    await arrived;

    const slow: Opened[] = [];
    for (let n = 0; n < 3; n++) slow.push(await harness.open(SLOW_HEAD));
    const refused: Opened[] = [];
    for (let n = 0; n < 5; n++) refused.push(await harness.open());
    for (const { client } of refused) assert.match(await client.closed, /^HTTP\/1\.1 429 Too Many Requests\r\n/);
    assert.equal(await harness.dropped('refused'), 5);

    // The request in progress was not counted and is answered; the slow sockets are still held.
    harness.release();
    assert.match(await answer, /^HTTP\/1\.1 200 OK\r\n/);
    for (const { server } of slow) assert.equal(server.destroyed, false);
    // Another address has a cap of its own.
    const elsewhere = await harness.open('', '127.0.0.2');
    assert.match(await elsewhere.client.get(), /^HTTP\/1\.1 200 OK\r\n/);

    // One slow socket leaves: its place is free again.
    // (Not `once`, which rejects on the parse error the server's end of a cut head emits first.)
    const gone = new Promise((resolve) => slow[0]!.server.once('close', resolve));
    slow[0]!.client.socket.destroy();
    await gone;
    const next = await harness.open();
    assert.match(await next.client.get(), /^HTTP\/1\.1 200 OK\r\n/);
    assert.equal(await harness.dropped('refused'), 5);
  });

  it('closes the longest-idle keep-alive socket of the address to make room, rather than refuse', { timeout: TEST_TIMEOUT_MS }, async () => {
    const harness = await new Harness({ maxIdleSocketsPerAddress: 2 }).listen();
    const first = await harness.open();
    await first.client.get();
    const second = await harness.open();
    await second.client.get();
    const third = await harness.open(SLOW_HEAD);
    assert.equal(await first.client.closed, first.client.received, 'the longest-idle socket was closed');
    assert.equal(third.server.destroyed, false);
    assert.equal(second.server.destroyed, false);
    assert.match(await second.client.get(), /^HTTP\/1\.1 200 OK\r\n/);
    assert.equal(await harness.dropped('idle_closed'), 1);
    assert.equal(await harness.dropped('refused'), 0);
  });

  it('stops counting a socket once it is upgraded: the WebSocket cap counts it from then on', { timeout: TEST_TIMEOUT_MS }, async () => {
    const harness = await new Harness({ maxIdleSocketsPerAddress: 1 }).listen();
    harness.server.on('upgrade', (_req: IncomingMessage, socket: Socket) => {
      socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: test\r\nConnection: Upgrade\r\n\r\n');
    });
    for (let n = 0; n < 3; n++) {
      const { client } = await harness.open('GET /ws/ HTTP/1.1\r\nHost: test\r\nUpgrade: test\r\nConnection: Upgrade\r\n\r\n');
      while (!client.received.includes('\r\n\r\n')) await once(client.socket, 'data');
      assert.match(client.received, /^HTTP\/1\.1 101 /);
    }
    const plain = await harness.open();
    assert.match(await plain.client.get(), /^HTTP\/1\.1 200 OK\r\n/);
    assert.equal(await harness.dropped('refused'), 0);
  });

  it('leaves an upgrade request a plain request while the server has no upgrade listener of its own', { timeout: TEST_TIMEOUT_MS }, async () => {
    const harness = await new Harness({}).listen();
    const listener = (): void => {};
    harness.server.on('upgrade', listener);
    harness.server.off('upgrade', listener);
    assert.equal(harness.server.listenerCount('upgrade'), 0);
    const { client } = await harness.open('GET / HTTP/1.1\r\nHost: test\r\nUpgrade: test\r\nConnection: Upgrade\r\n\r\n');
    while (!client.received.endsWith('\r\n\r\nok')) await once(client.socket, 'data');
    assert.match(client.received, /^HTTP\/1\.1 200 OK\r\n/);
  });

  it('does not count the sockets of a trusted proxy', { timeout: TEST_TIMEOUT_MS }, async () => {
    const harness = await new Harness({ maxIdleSocketsPerAddress: 1, trustProxy: ProxyTrust.parse('127.0.0.1') }).listen();
    const slow: Opened[] = [];
    for (let n = 0; n < 3; n++) slow.push(await harness.open(SLOW_HEAD));
    const plain = await harness.open();
    assert.match(await plain.client.get(), /^HTTP\/1\.1 200 OK\r\n/);
    for (const { server } of slow) assert.equal(server.destroyed, false);
    assert.equal(await harness.dropped('refused'), 0);
  });

  it('answers 408 and closes a socket whose request head is not in within the header timeout, upgrade or not', { timeout: TEST_TIMEOUT_MS }, async () => {
    const harness = await new Harness({ headersTimeoutMs: 100, requestTimeoutMs: 1_000, checkIntervalMs: 10 }).listen();
    harness.server.on('upgrade', (_req: IncomingMessage, socket: Socket) => socket.destroy());
    const started = Date.now();
    const [head, upgrade] = await Promise.all([harness.open(SLOW_HEAD), harness.open(SLOW_UPGRADE)]);
    assert.match(await head.client.closed, /^HTTP\/1\.1 408 Request Timeout\r\n/);
    assert.match(await upgrade.client.closed, /^HTTP\/1\.1 408 Request Timeout\r\n/);
    assert.ok(Date.now() - started >= 100, 'not before the timeout');
  });

  it('answers 408 and closes a socket whose request body is not in within the request timeout', { timeout: TEST_TIMEOUT_MS }, async () => {
    const harness = await new Harness({ headersTimeoutMs: 50, requestTimeoutMs: 150, checkIntervalMs: 10 }).listen();
    const started = Date.now();
    const { client } = await harness.open('POST / HTTP/1.1\r\nHost: test\r\nContent-Length: 10\r\n\r\nabc');
    assert.match(await client.closed, /^HTTP\/1\.1 408 Request Timeout\r\n/);
    assert.ok(Date.now() - started >= 150, 'not before the timeout');
  });

  it('closes a keep-alive socket that has no next request within the keep-alive timeout', { timeout: TEST_TIMEOUT_MS }, async () => {
    const harness = await new Harness({ keepAliveTimeoutMs: 50 }).listen();
    const { client } = await harness.open();
    await client.get();
    const answered = Date.now();
    await client.closed;
    assert.ok(Date.now() - answered >= 40, 'not before the timeout');
  });
});

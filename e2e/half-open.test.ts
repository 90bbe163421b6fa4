/**
 * The production server bounds the sockets one address holds open without a request in progress:
 * past MAX_CONNECTIONS_PER_IP, slow request heads and half-sent upgrades get no more sockets,
 * while other addresses are served.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { AppServer } from './support/app-server';

/** A raw socket from `localAddress`, connected, with what it receives and when it closes. */
async function open(port: number, localAddress: string, head: string): Promise<{ socket: Socket; closed: Promise<string> }> {
  const socket = connect({ port, host: '127.0.0.1', localAddress });
  let received = '';
  socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
  socket.on('error', () => {});
  const closed = new Promise<string>((resolve) => socket.once('close', () => resolve(received)));
  await once(socket, 'connect');
  socket.write(head);
  return { socket, closed };
}

describe('half-open sockets against the production server', () => {
  let server: AppServer;
  const sockets: Socket[] = [];

  before(async () => {
    server = await AppServer.start({ mode: 'production', env: { MAX_CONNECTIONS_PER_IP: '3' } });
  });
  after(async () => {
    for (const socket of sockets) socket.destroy();
    await server?.dispose();
  });

  it('refuses sockets past MAX_CONNECTIONS_PER_IP that have sent no whole request head, and serves other addresses', { timeout: 20_000 }, async () => {
    const heads = [
      'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n',
      'GET /chat/lobby/ HTTP/1.1\r\nHost: 127.0.0.1\r\n',
      'GET /ws/chat/lobby/ HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n',
    ];
    const held = [];
    // One after another: the server takes connections in the order they were made.
    for (const head of heads) held.push(await open(server.port, '127.0.0.1', head));
    sockets.push(...held.map(({ socket }) => socket));
    const refused = await open(server.port, '127.0.0.1', '');
    sockets.push(refused.socket);
    assert.match(await refused.closed, /^HTTP\/1\.1 429 Too Many Requests\r\n/);

    const elsewhere = await open(server.port, '127.0.0.2', 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
    sockets.push(elsewhere.socket);
    assert.match(await elsewhere.closed, /^HTTP\/1\.1 200 OK\r\n/);
    for (const { socket } of held) assert.equal(socket.closed, false, 'the sockets within the cap are still held (until the header timeout)');
  });
});

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, it } from 'node:test';
import { Server, type Socket } from 'socket.io';
import { RawSocket } from './raw-socket';

const server = createServer((_req, res) => res.writeHead(404).end());
// Pings every 50 ms, and a client that does not answer within 50 ms is dropped.
const io = new Server(server, { transports: ['websocket'], serveClient: false, pingInterval: 50, pingTimeout: 50 });
after(() => {
  void io.close();
  server.close();
});

async function listening(): Promise<number> {
  if (!server.listening) {
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
  }
  return (server.address() as AddressInfo).port;
}

function open(port: number, onText: (text: string) => void): Promise<RawSocket> {
  return RawSocket.open({
    host: '127.0.0.1',
    port,
    path: '/socket.io/?EIO=4&transport=websocket&room=r1',
    origin: 'http://localhost',
    protocol: 'socket.io',
    onText: (buffer, start, end) => onText(buffer.toString('utf8', start, end)),
  });
}

it('connects to the main namespace, hands over each event payload alone, and sends chat.message events', async () => {
  const port = await listening();
  const connected = new Promise<Socket>((resolve) => io.once('connection', resolve));
  const received: string[] = [];
  const client = await open(port, (text) => received.push(text));
  const socket = await connected;
  assert.equal(socket.handshake.query.room, 'r1');

  const heard = new Promise<unknown>((resolve) => socket.once('chat.message', resolve));
  client.sendText('{"type":"chat.message","message":"b|1|2.5|你好","client_id":"g1"}');
  assert.deepEqual(await heard, { type: 'chat.message', message: 'b|1|2.5|你好', client_id: 'g1' });

  // Payloads of every frame length, a `",` inside one included, sent in one burst.
  const payloads = [5, 125, 70_000].map((size, index) => ({ type: 'chat.message', id: String(index), message: `"a", ${'字'.repeat(size)}` }));
  for (const payload of payloads) socket.emit('chat.message', payload);
  const deadline = Date.now() + 2000;
  while (received.length < payloads.length && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.deepEqual(received.map((text) => JSON.parse(text) as unknown), payloads);
  client.close();
});

it("answers the server's pings, so the server keeps the connection past its ping timeout", async () => {
  const port = await listening();
  const connected = new Promise<Socket>((resolve) => io.once('connection', resolve));
  const client = await open(port, () => {});
  const socket = await connected;
  await new Promise((resolve) => setTimeout(resolve, 400));
  assert.equal(socket.connected, true);
  client.close();
});

it("rejects with the server's message when Socket.IO refuses the connect", async () => {
  const refusing = new Server({ transports: ['websocket'], serveClient: false });
  const http = createServer((_req, res) => res.writeHead(404).end());
  refusing.attach(http);
  refusing.use((_socket, next) => next(new Error('not in this room')));
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  const { port } = http.address() as AddressInfo;
  await assert.rejects(open(port, () => {}), /not in this room/);
  await refusing.close();
});

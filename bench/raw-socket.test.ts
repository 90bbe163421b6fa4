import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, it } from 'node:test';
import { WebSocketServer } from 'ws';
import { RawSocket } from './raw-socket';

const server = createServer((_req, res) => res.writeHead(404).end());
const wss = new WebSocketServer({ server });
after(() => {
  wss.close();
  server.close();
});

it('completes the handshake, reads frames of every length in place, and sends text a ws server reads', async () => {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  // Frames of 2-, 4- and 10-byte headers, Chinese included, sent in one burst so they arrive
  // split across reads.
  const sizes = [5, 125, 126, 1_000, 65_535, 70_000];
  const texts = sizes.map((size, index) => `${index}:${'字'.repeat(size)}`);
  const heardByServer = new Promise<string>((resolve) => {
    wss.once('connection', (ws) => {
      ws.once('message', (data) => resolve(String(data)));
      for (const text of texts) ws.send(text);
    });
  });
  const received: string[] = [];
  let allReceived: () => void = () => {};
  const done = new Promise<void>((resolve) => (allReceived = resolve));
  const client = await RawSocket.open({
    host: '127.0.0.1',
    port,
    path: '/',
    origin: 'http://localhost',
    onText: (buffer, start, end) => {
      received.push(buffer.toString('utf8', start, end));
      if (received.length === texts.length) allReceived();
    },
  });
  await done;
  assert.deepEqual(received, texts);
  client.sendText('你好 from the generator');
  assert.equal(await heardByServer, '你好 from the generator');
  client.close();
});

it('rejects with the status line when the server refuses the handshake', async () => {
  const refusing = createServer((_req, res) => res.writeHead(404).end());
  refusing.on('upgrade', (_req, socket) => socket.end('HTTP/1.1 403 Forbidden\r\n\r\n'));
  refusing.listen(0, '127.0.0.1');
  await once(refusing, 'listening');
  const { port } = refusing.address() as AddressInfo;
  await assert.rejects(RawSocket.open({ host: '127.0.0.1', port, path: '/', origin: 'http://evil', onText: () => {} }), /403 Forbidden/);
  refusing.close();
});

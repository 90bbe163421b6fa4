/**
 * docs/nginx.conf, run as it is by a real nginx in front of two server processes: pages and
 * sockets go through it, and a conversation spans both processes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { freePort } from '../lib/testing/engines';
import { type Cluster, startCluster } from './support/cluster';
import { type Nginx, startNginx } from './support/nginx';
import { TestSocket } from './support/ws-client';

describe('docs/nginx.conf in front of two processes', () => {
  let cluster: Cluster;
  let nginx: Nginx;
  let port: number;
  const origin = (): string => `http://localhost:${port}`;

  before(async () => {
    port = await freePort();
    // The processes see nginx at 127.0.0.1. Two sockets per client address and process.
    cluster = await startCluster(2, { TRUST_PROXY: '127.0.0.1', MAX_CONNECTIONS_PER_IP: '2', PUBLIC_URL: `http://localhost:${port}` });
    nginx = await startNginx(cluster.servers.map((server) => server.port), { port });
  });
  after(async () => {
    await nginx?.dispose();
    await cluster?.dispose();
  });

  it('serves pages and gives a session cookie through nginx', async () => {
    const response = await fetch(`http://127.0.0.1:${port}/`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('set-cookie') ?? '', /^session=/);
  });

  it('carries sockets on both processes, and one conversation across them', async () => {
    // nginx balances round-robin: four sockets land on both processes.
    const sockets = await Promise.all([1, 2, 3, 4].map(() => TestSocket.open(`ws://127.0.0.1:${port}/ws/chat/nginx/`, { origin: origin() })));
    await Promise.all(sockets.map((socket) => socket.find((frame) => frame.type === 'history')));
    sockets[0]!.send({ message: 'through nginx 经过' });
    sockets[3]!.send({ message: 'and back' });
    for (const socket of sockets) {
      await socket.find((frame) => frame.message === 'through nginx 经过');
      await socket.find((frame) => frame.message === 'and back');
    }
    for (const socket of sockets) socket.close();
  });

  it('counts each client by the address nginx forwards, not by its own or one the client wrote', async () => {
    // Six sockets through nginx, three from each of two addresses; nginx takes turns between the
    // processes, so each process gets three, at most two from one address. Counted as nginx's
    // 127.0.0.1 (or by a forged header), some would be refused with 429.
    const order = ['127.0.0.2', '127.0.0.2', '127.0.0.3', '127.0.0.3', '127.0.0.2', '127.0.0.3'];
    const sockets: WebSocket[] = [];
    try {
      for (const [index, localAddress] of order.entries()) {
        const ws = new WebSocket(`ws://127.0.0.1:${port}/ws/chat/forwarded/`, { origin: origin(), localAddress, headers: { 'x-forwarded-for': '198.51.100.7' } });
        sockets.push(ws);
        const status = await new Promise<number>((resolve, reject) => {
          ws.once('open', () => resolve(101));
          ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
          ws.once('error', reject);
        });
        assert.equal(status, 101, `socket ${index + 1}, from ${localAddress}`);
      }
    } finally {
      for (const ws of sockets) ws.terminate();
    }
  });
});

/**
 * docs/nginx.conf, run as it is by a real nginx in front of two server processes: pages and
 * sockets go through it, and a conversation spans both processes.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, watch, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { freePort } from '../lib/testing/engines';
import { PROJECT_ROOT } from './support/app-server';
import { type Cluster, startCluster } from './support/cluster';
import { TestSocket } from './support/ws-client';

describe('docs/nginx.conf in front of two processes', () => {
  let cluster: Cluster;
  let nginx: ChildProcess;
  let folder: string;
  let port: number;
  const origin = (): string => `http://localhost:${port}`;

  before(async () => {
    port = await freePort();
    // The processes see nginx at 127.0.0.1. Two sockets per client address and process.
    cluster = await startCluster(2, { TRUST_PROXY: '127.0.0.1', MAX_CONNECTIONS_PER_IP: '2', PUBLIC_URL: `http://localhost:${port}` });
    folder = await mkdtemp(path.join(tmpdir(), 'nginx-test-'));
    const site = (await readFile(path.join(PROJECT_ROOT, 'docs', 'nginx.conf'), 'utf8'))
      .replace('server 127.0.0.1:3001;', `server 127.0.0.1:${cluster.servers[0]!.port};`)
      .replace('server 127.0.0.1:3002;', `server 127.0.0.1:${cluster.servers[1]!.port};`)
      .replace('listen 80;', `listen 127.0.0.1:${port};`);
    assert.match(site, new RegExp(`listen 127.0.0.1:${port};`), 'the test rewrote the listen line');
    await writeFile(path.join(folder, 'chat.conf'), site);
    await writeFile(
      path.join(folder, 'nginx.conf'),
      `daemon off;\nworker_processes 1;\npid ${folder}/nginx.pid;\nerror_log stderr warn;\nevents {}\n` +
        `http {\n  access_log off;\n  client_body_temp_path ${folder}/body;\n  proxy_temp_path ${folder}/proxy;\n` +
        `  fastcgi_temp_path ${folder}/fastcgi;\n  uwsgi_temp_path ${folder}/uwsgi;\n  scgi_temp_path ${folder}/scgi;\n` +
        `  include ${folder}/chat.conf;\n}\n`,
    );
    // nginx prints nothing when it is up; it writes its pid file once its port is bound.
    const stopWatching = new AbortController();
    const watcher = watch(folder, { signal: stopWatching.signal });
    nginx = spawn('nginx', ['-p', folder, '-c', path.join(folder, 'nginx.conf')], { stdio: ['ignore', 'inherit', 'inherit'] });
    const exited = once(nginx, 'exit').then(([code]) => {
      throw new Error(`nginx exited with ${code}`);
    });
    try {
      await Promise.race([
        (async () => {
          for await (const change of watcher) if (change.filename === 'nginx.pid') return;
        })(),
        exited,
      ]);
    } finally {
      stopWatching.abort();
    }
  });
  after(async () => {
    if (nginx && nginx.exitCode === null) {
      nginx.kill('SIGQUIT');
      await once(nginx, 'exit');
    }
    await cluster?.dispose();
    if (folder) await rm(folder, { recursive: true, force: true });
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

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Agent, createServer, type IncomingMessage, request, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { discardUnreadBody } from './unread-body';

const KIB = 1024;
const MIB = 1024 * KIB;
const LIMITS = { maxBytes: 256 * KIB, lingerMs: 300 };

/**
 * Answers 413 as a route does at its cap: Next hands the route a `Request` over the Node request,
 * and the route reads its first chunk and lets go of the body.
 */
async function refuseAfterFirstChunk(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const web = new Request('http://localhost/route', { method: 'POST', body: req as unknown as ReadableStream, duplex: 'half' } as RequestInit);
  const reader = web.body!.getReader();
  await reader.read();
  reader.releaseLock();
  res.writeHead(413, { 'content-type': 'text/plain' }).end('too large\n');
}

interface Sent {
  readonly status: number;
  readonly reused: boolean;
}

/**
 * POSTs `size` bytes in 64 KiB writes, each after the last was taken: all of them, as a browser
 * does whatever the answer, or (`stopAtAnswer`) none after the answer came.
 */
function post(base: string, path: string, size: number, agent: Agent, declared: boolean, stopAtAnswer = false): Promise<Sent> {
  return new Promise((resolve, reject) => {
    let answered = false;
    let sent = 0;
    const headers = declared ? { 'content-length': String(size) } : {};
    const req = request(`${base}${path}`, { method: 'POST', agent, headers }, (res) => {
      answered = true;
      res.resume().on('end', () => resolve({ status: res.statusCode ?? 0, reused: req.reusedSocket }));
    });
    req.on('error', (error) => {
      if (!answered) reject(error);
    });
    const chunk = Buffer.alloc(64 * KIB, 'x');
    const next = (): void => {
      if ((stopAtAnswer && answered) || req.destroyed) return;
      if (sent >= size) return void req.end();
      const piece = chunk.subarray(0, Math.min(chunk.length, size - sent));
      sent += piece.length;
      req.write(piece, next);
    };
    next();
  });
}

describe('discardUnreadBody', () => {
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    // /timed: only the time bound applies.
    discardUnreadBody(req, res, req.url === '/timed' ? { lingerMs: LIMITS.lingerMs, maxBytes: Infinity } : LIMITS);
    if (req.url === '/route' || req.url === '/timed') void refuseAfterFirstChunk(req, res);
    else if (req.url === '/early') res.writeHead(413).end();
    else res.end('ok');
  });
  server.on('connection', (socket) => sockets.add(socket));
  let base: string;
  before(async () => {
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  // Without the discard, the connection would wait for a reader that is gone: the timeout fails it.
  it('reads a refused body to its end when it is short, so the connection carries the next request', { timeout: 10_000 }, async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    for (const declared of [false, true]) {
      assert.equal((await post(base, '/route', 200 * KIB, agent, declared)).status, 413);
      const next = await post(base, '/next', 0, agent, true);
      assert.deepEqual(next, { status: 200, reused: true }, `declared: ${declared}`);
    }
    agent.destroy();
  });

  it('closes the connection of a body that goes on past its time', { timeout: 10_000 }, async () => {
    sockets.clear();
    const req = request(`${base}/timed`, { method: 'POST' });
    const answered = once(req, 'response');
    req.on('error', () => {});
    // A body that would go on for ever: 1 KiB whenever the last was taken.
    const forever = (): void => void (req.destroyed || req.write(Buffer.alloc(KIB, 'x'), () => setImmediate(forever)));
    forever();
    const [res] = (await answered) as [IncomingMessage];
    const started = performance.now();
    assert.equal(res.statusCode, 413);
    const [socket] = sockets;
    if (!socket!.destroyed) await once(socket!, 'close');
    assert.ok(performance.now() - started >= LIMITS.lingerMs - 50, 'closed when its time was up, not before');
    req.destroy();
  });

  it('closes the connection once it has thrown away its bound, having read no more', { timeout: 10_000 }, async () => {
    for (const [path, declared] of [
      ['/route', false],
      ['/route', true],
      ['/early', true],
    ] as const) {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      sockets.clear();
      const answer = await post(base, path, 16 * MIB, agent, declared, true);
      assert.equal(answer.status, 413, path);
      const [socket] = sockets;
      if (!socket!.destroyed) await once(socket!, 'close');
      // The first chunk, the bound, and what was in flight in the last read.
      assert.ok(socket!.bytesRead < LIMITS.maxBytes + 512 * KIB, `${path} (declared: ${declared}): read ${socket!.bytesRead} bytes`);
      agent.destroy();
    }
  });
});

/**
 * The production server's HTTP defences, through real requests: paths that do not decode, Next's
 * own headers, the browser security headers, the operator endpoints under a foreign Host, the
 * modes of the files it creates, and the origins it allows beside a public URL.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { type IncomingHttpHeaders, request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ADMIN_TOKEN, AppServer } from './support/app-server';
import { handshakeStatus } from './support/ws-client';

interface Reply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** A GET with any headers, Host included (fetch will not send another Host). */
function get(url: string, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    request(url, { headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    })
      .on('error', reject)
      .end();
  });
}

const nextHeaders = (headers: IncomingHttpHeaders): string[] => Object.keys(headers).filter((name) => name.startsWith('x-nextjs-'));

describe('production server, HTTP surface', () => {
  let server: AppServer;
  let folder: string;
  let dataDir: string;
  before(async () => {
    folder = await mkdtemp(path.join(tmpdir(), 'chat-e2e-modes-'));
    // A data folder the server has to make itself.
    dataDir = path.join(folder, 'made', 'by-server');
    server = await AppServer.start({ mode: 'production', env: { DATA_DIR: dataDir } });
  });
  after(async () => {
    await server?.dispose();
    if (folder) await rm(folder, { recursive: true, force: true });
  });

  it('answers a path whose percent-encoding does not decode with 400, logging one line', async () => {
    for (const target of ['/chat/%ff/', '/api/session%zz', '/%']) {
      const reply = await get(`${server.http}${target}`);
      assert.deepEqual([reply.status, reply.body], [400, 'malformed percent-encoding in the path\n'], target);
    }
    // The log comes on the server's stdout, which may trail its replies.
    await server.waitForOutput(/(refused a request whose path does not decode[^]*){3}/);
    const lines = server.output().split('\n').filter((line) => line.includes('refused a request whose path does not decode'));
    assert.equal(lines.length, 3);
    assert.match(lines[0]!, /"level":"info".*"method":"GET","path":"\/chat\/%ff\/"/);
    assert.doesNotMatch(server.output(), /"level":"error"/);
    // A room name that decodes is still the page's to refuse.
    assert.equal((await get(`${server.http}/chat/%E8%81%8A/`)).status, 404);
  });

  it("sends none of Next's x-nextjs-* headers on pages, 404s or routes", async () => {
    for (const target of ['/', '/chat/headers/', '/no-such-page/', '/api/session', '/api/no-such-route']) {
      const reply = await get(`${server.http}${target}`);
      assert.ok(reply.status < 500, `${target}: ${reply.status}`);
      assert.deepEqual(nextHeaders(reply.headers), [], target);
    }
  });

  it('sends the security headers on every page, and every script of the page carries the nonce', async () => {
    for (const target of ['/', '/chat/headers/', '/no-such-page/']) {
      const reply = await get(`${server.http}${target}`);
      const policy = String(reply.headers['content-security-policy']);
      const nonce = /script-src 'self' 'nonce-([A-Za-z0-9+/]+=*)' 'strict-dynamic'; /.exec(policy)?.[1];
      assert.ok(nonce, `${target}: ${policy}`);
      assert.match(policy, /frame-ancestors 'none'/);
      assert.doesNotMatch(policy, /unsafe-eval/);
      const scripts = reply.body.match(/<script\b[^>]*>/g) ?? [];
      assert.ok(scripts.length > 0, target);
      for (const script of scripts) assert.ok(script.includes(` nonce="${nonce}"`), `${target}: ${script}`);
      assert.equal(reply.headers['x-frame-options'], 'DENY');
      assert.equal(reply.headers['x-content-type-options'], 'nosniff');
      assert.equal(reply.headers['referrer-policy'], 'same-origin');
      assert.equal(reply.headers['strict-transport-security'], undefined, 'no HSTS without an https public URL');
    }
    // Session answers are never cached, with a session or without one (API routes issue none).
    const page = await get(`${server.http}/`);
    const cookie = String(page.headers['set-cookie']).split(';')[0]!;
    const session = await get(`${server.http}/api/session`, { cookie });
    assert.deepEqual([session.status, session.headers['cache-control']], [200, 'no-store']);
    const none = await get(`${server.http}/api/session`);
    assert.deepEqual([none.status, none.headers['cache-control']], [401, 'no-store']);
  });

  it('answers /readyz and /metrics only to a Host that names this machine; /healthz to any', async () => {
    for (const host of [`127.0.0.1:${server.port}`, `localhost:${server.port}`, `[::1]:${server.port}`]) {
      assert.equal((await get(`${server.http}/readyz`, { host })).status, 200, host);
      assert.equal((await get(`${server.http}/metrics`, { host })).status, 200, host);
    }
    // What a page of rebind.example sends once its name points at this machine.
    for (const host of [`rebind.example:${server.port}`, 'rebind.example', `localhost.rebind.example:${server.port}`]) {
      const readyz = await get(`${server.http}/readyz`, { host });
      const metrics = await get(`${server.http}/metrics`, { host });
      assert.deepEqual([readyz.status, metrics.status], [404, 404], host);
      assert.doesNotMatch(metrics.body, /process_resident_memory_bytes/);
      assert.equal((await get(`${server.http}/healthz`, { host })).status, 200, host);
    }
  });

  it('keeps its data folder, database, log, shared memory and secret to its own user', async () => {
    // A stored message makes sure the log and shared-memory files exist.
    const announced = await fetch(`${server.http}/api/rooms/modes/announce`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ message: '只给自己看' }),
    });
    assert.equal(announced.status, 201);
    assert.equal((await stat(dataDir)).mode & 0o777, 0o700, 'data folder');
    for (const file of ['chat.db', 'chat.db-wal', 'chat.db-shm', 'session-secret']) {
      assert.equal((await stat(path.join(dataDir, file))).mode & 0o777, 0o600, file);
    }
  });
});

describe('production server with a public URL', () => {
  let server: AppServer;
  before(async () => {
    server = await AppServer.start({ mode: 'production', env: { PUBLIC_URL: 'https://chat.example.com' } });
  });
  after(async () => {
    await server?.dispose();
  });

  it('takes sockets and renames from the public origin only, not from localhost', async () => {
    const url = `${server.ws}/ws/chat/lobby/`;
    assert.equal(await handshakeStatus(url, { origin: 'https://chat.example.com' }), 101);
    for (const origin of [server.origin, `http://127.0.0.1:${server.port}`]) {
      assert.equal(await handshakeStatus(url, { origin }), 403, origin);
    }
    const page = await fetch(`${server.http}/`);
    await page.text();
    const cookie = (page.headers.get('set-cookie') ?? '').split(';')[0]!;
    const rename = (origin: string) =>
      fetch(`${server.http}/api/session`, {
        method: 'POST',
        headers: { cookie, origin, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'Ana' }),
      });
    assert.equal((await rename(server.origin)).status, 403);
    assert.equal((await rename('https://chat.example.com')).status, 200);
  });

  it('tells browsers to keep to https: HSTS, and insecure requests upgraded', async () => {
    const page = await get(`${server.http}/`);
    assert.equal(page.headers['strict-transport-security'], 'max-age=31536000');
    assert.match(String(page.headers['content-security-policy']), /; upgrade-insecure-requests$/);
  });

  it("answers /metrics to the public URL's host as well", async () => {
    assert.equal((await get(`${server.http}/metrics`, { host: 'chat.example.com' })).status, 200);
    assert.equal((await get(`${server.http}/metrics`, { host: 'elsewhere.example.com' })).status, 404);
  });
});

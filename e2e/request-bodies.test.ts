/**
 * Request bodies of the production server's HTTP routes, through real HTTP requests: a body over
 * its route's cap is refused with 413 without being buffered (declared or counted as it comes),
 * only application/json is parsed, and the server's memory stays where it was.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { ADMIN_TOKEN, AppServer } from './support/app-server';

const MB = 1024 * 1024;
const CHUNK = 64 * 1024;

interface Answer {
  readonly status: number;
  readonly body: string;
  /** Body bytes the client had handed to its socket when the answer came. */
  readonly sentBefore: number;
}

interface Upload {
  readonly headers: Record<string, string>;
  readonly body: Buffer;
  /** Without a Content-Length: the body goes chunked, its length unknown until it ends. */
  readonly chunked?: boolean;
  /** Send only this much of the body, then wait for the answer without sending more. */
  readonly stopAfter?: number;
}

/**
 * POSTs a body in 64 KiB writes, each after the last was taken, stopping as soon as the answer
 * comes (or at `stopAfter`). After an answer the server may close the connection while bytes are
 * still on their way: that error is not a failure.
 */
function upload(url: string, { headers, body, chunked = false, stopAfter = body.length }: Upload): Promise<Answer> {
  return new Promise((resolve, reject) => {
    let sent = 0;
    let answered = false;
    const req = request(url, { method: 'POST', headers: chunked ? headers : { ...headers, 'content-length': String(body.length) } }, (res) => {
      answered = true;
      const sentBefore = sent;
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text, sentBefore }));
      res.on('error', reject);
    });
    req.on('error', (error) => {
      if (!answered) reject(error);
    });
    const next = (): void => {
      if (answered || req.destroyed) return;
      if (sent >= stopAfter) {
        if (sent >= body.length) req.end();
        return;
      }
      const chunk = body.subarray(sent, Math.min(sent + CHUNK, stopAfter));
      sent += chunk.length;
      req.write(chunk, next);
    };
    next();
  });
}

/** `{"name": [[[...]]]}` of `size` bytes: the nesting is what made parsing slow and large. */
function nestedJson(size: number): Buffer {
  const depth = Math.floor((size - 10) / 2);
  return Buffer.from(`{"name":${'['.repeat(depth)}${']'.repeat(depth)}}`);
}

async function memoryMb(pid: number): Promise<{ rss: number; peak: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const field = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]) / 1024;
  return { rss: field('VmRSS'), peak: field('VmHWM') };
}

describe('request bodies of the production server', () => {
  let server: AppServer;
  let cookie: string;
  let json: Record<string, string>;
  const admin = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };
  before(async () => {
    server = await AppServer.start({ mode: 'production' });
    const page = await fetch(`${server.http}/`);
    await page.text();
    cookie = (page.headers.get('set-cookie') ?? '').split(';')[0]!;
    json = { cookie, origin: server.origin, 'content-type': 'application/json' };
  });
  after(async () => {
    await server?.dispose();
  });

  // Without a cap the server waits for the rest of the body, which never comes: the timeout fails it.
  it('answers 413 to a declared 10 MB body having received only its first 64 KiB', { timeout: 10_000 }, async () => {
    const answer = await upload(`${server.http}/api/session`, { headers: json, body: nestedJson(10 * MB), stopAfter: CHUNK });
    assert.equal(answer.status, 413);
    assert.deepEqual(JSON.parse(answer.body), { error: 'too_large', detail: 'request bodies under /api/ must be at most 16384 bytes' });
  });

  it('answers 413 to a chunked body as soon as it passes the cap, for every route', { timeout: 10_000 }, async () => {
    const routes: Array<[string, Record<string, string>]> = [
      ['/api/session', json],
      ['/api/rooms/lobby/announce', admin],
      ['/api/users/u_x/notify', admin],
    ];
    for (const [path, headers] of routes) {
      const answer = await upload(`${server.http}${path}`, { headers, body: nestedJson(10 * MB), chunked: true, stopAfter: CHUNK });
      assert.equal(answer.status, 413, path);
      assert.equal(JSON.parse(answer.body).error, 'too_large', path);
    }
  });

  it('takes the whole 10 MB attack, declared or chunked, without its memory jumping, and goes on serving', async () => {
    const pid = server.pid!;
    for (const chunked of [false, true]) {
      const before = await memoryMb(pid);
      const answer = await upload(`${server.http}/api/session`, { headers: json, body: nestedJson(10 * MB), chunked });
      const after = await memoryMb(pid);
      assert.equal(answer.status, 413, `chunked: ${chunked}`);
      assert.ok(answer.sentBefore < 10 * MB, `answered before the body was sent (chunked: ${chunked}): ${answer.sentBefore} bytes sent`);
      // Parsed, 10 MB of nesting took the server from ~120 MB to over 600 MB.
      const grown = Math.max(after.peak - before.peak, after.rss - before.rss);
      assert.ok(grown < 32, `memory grew ${grown.toFixed(1)} MB (chunked: ${chunked})`);
    }
    const renamed = await fetch(`${server.http}/api/session`, { method: 'POST', headers: json, body: JSON.stringify({ name: '还在' }) });
    assert.deepEqual([renamed.status, ((await renamed.json()) as { user: string }).user], [200, '还在']);
  });

  it('refuses text, form and multipart bodies with 415, even when they hold JSON', async () => {
    for (const type of ['text/plain;charset=UTF-8', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
      const response = await fetch(`${server.http}/api/session`, {
        method: 'POST',
        headers: { ...json, 'content-type': type },
        body: JSON.stringify({ name: 'Mallory' }),
      });
      assert.equal(response.status, 415, type);
      assert.deepEqual(await response.json(), { error: 'unsupported_media_type', detail: 'the body must be application/json' });
    }
  });

  it('still takes JSON with a charset, and a body right at the cap', async () => {
    const response = await fetch(`${server.http}/api/rooms/lobby/announce`, {
      method: 'POST',
      headers: { ...admin, 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify({ message: '公告 '.repeat(500).trim() }),
    });
    assert.equal(response.status, 201);
    const name = JSON.stringify({ name: 'Ana', pad: '' });
    const atCap = name.replace('""', `"${'x'.repeat(4096 - name.length)}"`);
    assert.equal(Buffer.byteLength(atCap), 4096);
    const renamed = await fetch(`${server.http}/api/session`, { method: 'POST', headers: json, body: atCap });
    assert.equal(renamed.status, 200);
  });
});

/**
 * Issue 16, item 1: 10 MB of nested JSON posted to `POST /api/session` of the production build,
 * once with a Content-Length and once chunked (no length), by a sender that goes on sending
 * whatever the answer. For each, on a fresh server: the answer and how long it took, when the
 * connection was over (the body sent, or the server done throwing away the rest: at most 5 s
 * after its answer), the longest event-loop delay the server saw meanwhile (its own
 * `nodejs_eventloop_lag_max_seconds`, reset just before, sampled every 100 ms), the slowest
 * `/healthz` of a bystander on a thread of its own, and the server's resident memory before, at
 * its peak and after.
 *
 *   npm run build && node --import tsx bench/body-attack.ts [--mb 10]
 */
import { readFileSync } from 'node:fs';
import { once } from 'node:events';
import { request } from 'node:http';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { AppServer } from '../e2e/support/app-server';

const { values } = parseArgs({ options: { mb: { type: 'string', default: '10' } } });
const bytes = Math.round(Number(values.mb) * 1024 * 1024);

/** `{"name": [[[...]]]}`: the nesting is what makes JSON.parse slow and large. */
function nestedJson(size: number): Buffer {
  const depth = Math.floor((size - 10) / 2);
  return Buffer.from(`{"name":${'['.repeat(depth)}${']'.repeat(depth)}}`);
}

function memoryMb(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) / 1024;
  return { rss: field('VmRSS'), peak: field('VmHWM') };
}

async function eventLoopMaxMs(server: AppServer): Promise<number> {
  const text = await (await fetch(`${server.http}/metrics`)).text();
  return Number(/^nodejs_eventloop_lag_max_seconds (\S+)/m.exec(text)?.[1] ?? NaN) * 1000;
}

/**
 * Sends the body, resolving once the connection is over with the answer (or the error), the ms
 * until it came and the ms until the connection was over.
 */
function attack(server: AppServer, cookie: string, body: Buffer, chunked: boolean): Promise<{ answer: string; ms: number; overMs: number }> {
  const started = performance.now();
  return new Promise((resolve) => {
    let settled = false;
    let answer = 'none';
    let ms = 0;
    const settle = (what: string): void => {
      if (settled) return;
      settled = true;
      answer = what;
      ms = Math.round(performance.now() - started);
    };
    const headers: Record<string, string> = { cookie, origin: server.origin, 'content-type': 'application/json' };
    if (!chunked) headers['content-length'] = String(body.length);
    const req = request(`${server.http}/api/session`, { method: 'POST', headers }, (res) => {
      settle(String(res.statusCode));
      res.resume();
      // Keep sending: the attacker does not stop because it was answered.
    });
    // After an early answer the server may close while we still write: that is not a failure.
    req.on('error', (error) => settle(`error ${(error as NodeJS.ErrnoException).code ?? error.message}`));
    req.on('close', () => resolve({ answer, ms, overMs: Math.round(performance.now() - started) }));
    const chunk = 64 * 1024;
    let offset = 0;
    const write = (): void => {
      while (offset < body.length && !req.destroyed) {
        const more = req.write(body.subarray(offset, offset + chunk));
        offset += chunk;
        if (!more) {
          req.once('drain', write);
          return;
        }
      }
      req.end();
    };
    write();
  });
}

/**
 * A bystander on a thread of its own (so the attacker's writes do not delay it): sequential
 * `/healthz` requests, each on a fresh connection, 5 ms apart, until stopped. Resolves with the
 * slowest, in ms.
 */
const BYSTANDER = `
const { parentPort, workerData } = require('node:worker_threads');
const { get } = require('node:http');
let running = true;
let slowest = 0;
let count = 0;
parentPort.on('message', () => (running = false));
(async () => {
  while (running) {
    const started = performance.now();
    await new Promise((resolve, reject) => get(workerData + '/healthz', { agent: false }, (res) => res.resume().on('end', resolve)).on('error', reject));
    if (count > 0) slowest = Math.max(slowest, performance.now() - started);
    else parentPort.postMessage('ready');
    count++;
    // At most ~200 a second: a bystander, not a load of its own.
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  parentPort.postMessage({ slowest, count });
})();
`;

async function bystander(server: AppServer): Promise<{ stop: () => Promise<{ slowest: number; count: number }> }> {
  const worker = new Worker(BYSTANDER, { eval: true, workerData: server.http });
  await once(worker, 'message');
  const result = once(worker, 'message') as Promise<[{ slowest: number; count: number }]>;
  return {
    stop: async () => {
      worker.postMessage('stop');
      const [{ slowest, count }] = await result;
      await worker.terminate();
      return { slowest: Math.round(slowest), count };
    },
  };
}

function rename(server: AppServer, cookie: string, name: string): Promise<Response> {
  return fetch(`${server.http}/api/session`, {
    method: 'POST',
    headers: { cookie, origin: server.origin, 'content-type': 'application/json' },
    body: JSON.stringify({ name }),
  });
}

async function run(chunked: boolean): Promise<void> {
  const server = await AppServer.start({ mode: 'production' });
  try {
    const pid = server.pid!;
    const page = await fetch(`${server.http}/`);
    await page.text();
    const cookie = (page.headers.get('set-cookie') ?? '').split(';')[0]!;
    // The route's code loads on its first request: load it before measuring.
    await rename(server, cookie, 'warm');
    const body = nestedJson(bytes);
    const before = memoryMb(pid).rss;
    await eventLoopMaxMs(server);
    const probe = await bystander(server);
    const { answer, ms, overMs } = await attack(server, cookie, body, chunked);
    const healthz = await probe.stop();
    const loopMs = await eventLoopMaxMs(server);
    const after = memoryMb(pid);
    const renamed = await rename(server, cookie, 'still here');
    process.stdout.write(
      `${JSON.stringify({
        body: `${(body.length / 1024 / 1024).toFixed(1)} MB nested JSON, ${chunked ? 'chunked' : 'with Content-Length'}`,
        answer,
        answerMs: ms,
        connectionOverMs: overMs,
        // The server samples its event loop every 100 ms: a sample of ~100 ms means no delay.
        eventLoopMaxMs: Math.round(loopMs),
        bystanderHealthz: { slowestMs: healthz.slowest, answered: healthz.count },
        rssMb: { before: Math.round(before), peak: Math.round(after.peak), after: Math.round(after.rss) },
        validRenameAfter: renamed.status,
      })}\n`,
    );
  } finally {
    await server.dispose();
  }
}

async function main(): Promise<void> {
  await run(false);
  await run(true);
}

void main();

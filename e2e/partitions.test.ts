/**
 * Production processes cut silently from Redis (a SilentProxy between one process and Redis:
 * nothing forwarded, nothing closed), with real Redis and PostgreSQL: local delivery keeps
 * flowing, new connections join, the outage is logged once and /readyz tells it; and a process
 * killed between a message's commit and its publish loses nothing for the other process's open
 * sockets. (e2e/faults*.test.ts does the same and more across network namespaces.)
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SilentProxy } from '../lib/testing/silent-proxy';
import { AppServer } from './support/app-server';
import { type Cluster, startCluster } from './support/cluster';
import { TestSocket } from './support/ws-client';

type Frame = Record<string, unknown>;

async function join(server: AppServer, room: string): Promise<TestSocket> {
  const socket = await TestSocket.open(`${server.ws}/ws/chat/${room}/`, { origin: server.origin });
  await socket.find((frame) => frame.type === 'presence');
  return socket;
}

/** Polls /readyz until `ready` holds (a deadline, not a wait for time to pass); answers the body. */
async function readiness(server: AppServer, ready: (status: number) => boolean, deadlineMs: number): Promise<Record<string, string>> {
  const started = Date.now();
  for (;;) {
    const response = await fetch(`${server.http}/readyz`);
    const body = (await response.json()) as Record<string, string>;
    if (ready(response.status)) return body;
    assert.ok(Date.now() - started < deadlineMs, `/readyz did not change within ${deadlineMs} ms: ${JSON.stringify(body)}`);
  }
}

describe('a process cut silently from Redis', () => {
  let cluster: Cluster;
  let proxy: SilentProxy;
  let cutOff: AppServer;
  before(async () => {
    cluster = await startCluster(1, { RATE_LIMIT: 'off' });
    proxy = await SilentProxy.start(cluster.redis.port);
    cutOff = await AppServer.start({ mode: 'production', env: { ...cluster.env, REDIS_URL: `redis://127.0.0.1:${proxy.port}` } });
  });
  after(async () => {
    await cutOff?.dispose();
    await proxy?.close();
    await cluster?.dispose();
  });

  it('keeps delivering between its own clients, lets new ones join, says so in /readyz and logs the outage once', { timeout: 60_000 }, async () => {
    const a = await join(cutOff, 'island');
    const b = await join(cutOff, 'island');
    proxy.cut();
    a.send({ type: 'chat.message', message: 'still here 你好', client_id: 'island-1' });
    await b.find((frame: Frame) => frame.type === 'chat.message' && frame.client_id === 'island-1');
    const down = await readiness(cutOff, (status) => status === 503, 10_000);
    assert.notEqual(down.layer, 'ok');
    await cutOff.waitForOutput(/"msg":"redis unreachable"/);
    // A newcomer joins (welcome, history, presence) while Redis is still away.
    const c = await join(cutOff, 'island');
    a.send({ type: 'chat.message', message: 'to the newcomer', client_id: 'island-2' });
    await c.find((frame: Frame) => frame.type === 'chat.message' && frame.client_id === 'island-2');
    const healedAt = Date.now();
    proxy.heal();
    await readiness(cutOff, (status) => status === 200, 10_000);
    const readyAfterMs = Date.now() - healedAt;
    assert.ok(readyAfterMs < 5_000, `ready again ${readyAfterMs} ms after the heal`);
    await cutOff.waitForOutput(/"msg":"redis reachable again"/);
    const lines = cutOff.output().split('\n');
    assert.equal(lines.filter((line) => line.includes('"msg":"redis unreachable"')).length, 1, 'one line for the loss');
    assert.equal(lines.filter((line) => line.includes('"msg":"redis reachable again"')).length, 1, 'one line for the return');
    process.stdout.write(`# redis cut from one process: ready again ${readyAfterMs} ms after the heal\n`);
    for (const socket of [a, b, c]) socket.close();
  });

  it('loses nothing when the process dies between storing a message and publishing it', { timeout: 60_000 }, async () => {
    const [other] = cluster.servers;
    const reader = await join(other!, 'doomed');
    const writer = await join(cutOff, 'doomed');
    // Cut from Redis, the process stores the message (the writer hears it back: acknowledged)
    // but cannot publish it; then it dies.
    proxy.cut();
    writer.send({ type: 'chat.message', message: 'last words', client_id: 'doomed-1' });
    const acked = await writer.find((frame: Frame) => frame.type === 'chat.message' && frame.client_id === 'doomed-1');
    const killedAt = Date.now();
    await cutOff.stop('SIGKILL');
    const seen = await reader.find((frame: Frame) => frame.type === 'chat.message' && frame.id === acked.id);
    const gapMs = Date.now() - killedAt;
    assert.equal(seen.message, 'last words');
    assert.equal(reader.frames.filter((frame: Frame) => frame.type === 'chat.message' && frame.id === acked.id).length, 1, 'once');
    process.stdout.write(`# killed between commit and publish: the other process's reader had it ${gapMs} ms after the kill\n`);
    proxy.heal();
    reader.close();
  });
});

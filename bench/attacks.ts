/**
 * The attacks of Hardening II (issue 16, items 2-4), replayed against the production build from
 * one address with no account, while a bystander in another room (four connections from other
 * addresses) pings the server every 120 ms per connection from a thread of its own and times the
 * answers.
 *
 *   npm run build && node --import tsx bench/attacks.ts [--root <a built checkout>]
 *
 * `--root` runs another checkout's build (an older commit, to compare); `--only history,frames`
 * picks attacks by their first word, `--rounds n` repeats each, `--cpu-prof <folder>` profiles
 * the server. The server runs on one core, this process on the other (`taskset`). Prints one
 * JSON line per attack: what was sent, what the server accepted, and the bystander's ping times.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import WebSocket from 'ws';
import { freePort } from '../lib/testing/engines';
import { pin } from './process-stats';
import { GENERATOR_CORE, SERVER_CORE } from './servers';

const ADMIN_TOKEN = 'attack-bench-admin-token-0123';
const ORIGIN_HOST = 'localhost';

/**
 * The bystander, as plain JavaScript for a worker thread (its own event loop, so the attackers'
 * work in this one does not delay it): pings every 20 ms until told to stop, then reports the
 * round trips in milliseconds.
 */
const BYSTANDER = `
const { parentPort, workerData } = require('node:worker_threads');
const WebSocket = require(workerData.ws);
const times = [];
let stopping = false;
let open = 0;
// Four connections from other loopback addresses (the attackers' address budgets are not the
// bystander's), each pinging every 120 ms, well within a connection's frame budget.
const sockets = [2, 3, 4, 5].map((n, index) => {
  const ws = new WebSocket(workerData.url, { headers: { origin: workerData.origin }, localAddress: '127.0.0.' + n });
  let sentAt = 0;
  const ping = () => { sentAt = performance.now(); ws.send('{"type":"ping"}'); };
  ws.on('message', (data) => {
    if (!data.toString().includes('"pong"')) return;
    times.push(performance.now() - sentAt);
    if (!stopping) setTimeout(ping, 120);
  });
  ws.on('open', () => {
    if (++open === 4) parentPort.postMessage('ready');
    setTimeout(ping, index * 30);
  });
  return ws;
});
parentPort.on('message', (what) => {
  if (what === 'start') { times.length = 0; return; }
  stopping = true;
  for (const ws of sockets) ws.close();
  parentPort.postMessage(times);
});
`;

async function startServer(root: string, port: number, dataDir: string, cpuProfile: string | undefined): Promise<ChildProcess> {
  const profile = cpuProfile === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${path.resolve(cpuProfile)}`];
  const child = spawn(process.execPath, [...profile, path.join(root, 'dist', 'server.js')], {
    cwd: root,
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'production',
      NEXT_TELEMETRY_DISABLED: '1',
      PORT: String(port),
      HOST: '127.0.0.1',
      DATA_DIR: dataDir,
      ADMIN_TOKEN,
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('"msg":"listening"')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
  return child;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function summary(times: readonly number[]) {
  const sorted = [...times].sort((a, b) => a - b);
  const round = (ms: number) => Math.round(ms * 10) / 10;
  return { pings: sorted.length, p50_ms: round(percentile(sorted, 50)), p99_ms: round(percentile(sorted, 99)), max_ms: round(sorted.at(-1) ?? Number.NaN) };
}

interface Client {
  readonly ws: WebSocket;
  frames: number;
  readonly counts: Map<string, number>;
  closedWith: number | null;
}

async function connect(url: string, origin: string): Promise<Client> {
  const ws = new WebSocket(url, { headers: { origin }, maxPayload: 256 * 1024 * 1024 });
  const client: Client = { ws, frames: 0, counts: new Map(), closedWith: null };
  ws.on('close', (code: number) => (client.closedWith = code));
  ws.on('message', (data: Buffer) => {
    client.frames++;
    const text = data.toString('utf8', 0, Math.min(data.length, 200));
    const type = /"type":"([^"]+)"/.exec(text)?.[1] ?? '?';
    const code = /"code":"([^"]+)"/.exec(text)?.[1];
    const key = code ? `${type}:${code}` : type;
    client.counts.set(key, (client.counts.get(key) ?? 0) + 1);
  });
  ws.on('error', () => {});
  await once(ws, 'open');
  return client;
}

function tally(clients: readonly Client[]): Record<string, number> {
  const total: Record<string, number> = {};
  for (const client of clients) for (const [key, count] of client.counts) total[key] = (total[key] ?? 0) + count;
  for (const client of clients) {
    if (client.closedWith !== null) total[`closed:${client.closedWith}`] = (total[`closed:${client.closedWith}`] ?? 0) + 1;
  }
  return total;
}

const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      root: { type: 'string' },
      seconds: { type: 'string', default: '5' },
      // Which attacks, by the first word of their names (history, messages, frames, mentions).
      only: { type: 'string' },
      rounds: { type: 'string', default: '1' },
      'cpu-prof': { type: 'string' },
    },
  });
  const only = values.only?.split(',') ?? null;
  const rounds = Number(values.rounds);
  const root = path.resolve(values.root ?? path.join(__dirname, '..'));
  const seconds = Number(values.seconds);
  const port = await freePort();
  const dataDir = await mkdtemp(path.join(tmpdir(), 'chat-attacks-'));
  const server = await startServer(root, port, dataDir, values['cpu-prof']);
  // As the load bench does: the server on one core, the attackers and the bystander on the other.
  pin(server.pid!, SERVER_CORE);
  pin(process.pid, GENERATOR_CORE);
  const http = `http://127.0.0.1:${port}`;
  const ws = `ws://127.0.0.1:${port}`;
  const origin = `http://${ORIGIN_HOST}:${port}`;
  const results: Array<Record<string, unknown>> = [];
  try {
    // A room with 300 long messages, posted through the admin route (no rate limit there).
    const long = '😀'.repeat(1_990);
    for (let n = 0; n < 300; n++) {
      const response = await fetch(`${http}/api/rooms/archive/announce`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ message: `${n} ${long}` }),
      });
      if (response.status !== 201) throw new Error(`seeding failed: ${response.status}`);
    }

    const attack = async (name: string, run: (clients: Client[]) => Promise<Record<string, unknown>>): Promise<void> => {
      if (only !== null && !only.includes(name.split(':')[0]!)) return;
      for (let round = 1; round < rounds; round++) await attackOnce(name, run);
      await attackOnce(name, run);
    };
    const attackOnce = async (name: string, run: (clients: Client[]) => Promise<Record<string, unknown>>): Promise<void> => {
      const worker = new Worker(BYSTANDER, { eval: true, workerData: { url: `${ws}/ws/chat/bystander/`, origin, ws: require.resolve('ws') } });
      await new Promise((resolve) => worker.once('message', resolve));
      await settle(500);
      const clients = await Promise.all(Array.from({ length: 40 }, () => connect(`${ws}/ws/chat/archive/`, origin)));
      // Joining a room of long messages costs its own (a page of history each): not counted here.
      await settle(1_000);
      worker.postMessage('start');
      const startedAt = performance.now();
      const sent = await run(clients);
      const ms = Math.round(performance.now() - startedAt);
      worker.postMessage('stop');
      const [times] = (await once(worker, 'message')) as [number[]];
      await worker.terminate();
      for (const client of clients) client.ws.terminate();
      results.push({ attack: name, ms, ...sent, answers: tally(clients), bystander: summary(times) });
      process.stdout.write(`${JSON.stringify(results.at(-1))}\n`);
      await settle(1_000);
    };

    await attack('history: 40 connections x 50 {"type":"history","limit":100}', async (clients) => {
      const frame = JSON.stringify({ type: 'history', limit: 100 });
      for (const client of clients) for (let n = 0; n < 50; n++) client.ws.send(frame);
      await settle(3_000);
      return { frames: 2_000 };
    });

    await attack(`history, sustained for ${seconds} s: each connection asks again as each answer comes`, async (clients) => {
      const frame = JSON.stringify({ type: 'history', limit: 100 });
      const until = performance.now() + seconds * 1_000;
      let frames = 0;
      for (const client of clients) {
        client.ws.on('message', () => {
          if (performance.now() < until && client.ws.readyState === WebSocket.OPEN) {
            client.ws.send(frame);
            frames++;
          }
        });
        client.ws.send(frame);
        frames++;
      }
      await settle(seconds * 1_000 + 1_000);
      return { frames };
    });

    await attack('messages: 40 connections x 250 messages of 2,000 emoji', async (clients) => {
      const before = await storedCount(http, 'archive');
      for (const [n, client] of clients.entries()) {
        for (let m = 0; m < 250; m++) client.ws.send(JSON.stringify({ type: 'chat.message', message: '😀'.repeat(2_000), client_id: `a${n}-${m}` }));
      }
      await settle(3_000);
      return { messages: 10_000, stored: (await storedCount(http, 'archive')) - before };
    });

    await attack('frames: 40 connections x 56 frames of 64 KiB nested JSON', async (clients) => {
      const depth = 32 * 1024 - 8;
      const nested = '['.repeat(depth) + ']'.repeat(depth);
      for (const client of clients) for (let n = 0; n < 56; n++) client.ws.send(nested);
      await settle(3_000);
      return { frames: 40 * 56 };
    });

    await attack('mentions: 450 messages with 509 @mentions each', async (clients) => {
      const text = Array.from({ length: 509 }, (_, n) => `@n${n}`).join(' ');
      for (let n = 0; n < 450; n++) clients[n % clients.length]!.ws.send(JSON.stringify({ type: 'chat.message', message: text.slice(0, 1_990), client_id: `m${n}` }));
      await settle(3_000);
      return { messages: 450 };
    });
  } finally {
    server.kill('SIGTERM');
    await once(server, 'exit');
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** The room's newest id: how many messages it holds (ids run 1, 2, 3...). */
async function storedCount(http: string, room: string): Promise<number> {
  const ws = new WebSocket(`${http.replace('http', 'ws')}/ws/chat/${room}/`, { headers: { origin: http.replace('127.0.0.1', ORIGIN_HOST) }, maxPayload: 256 * 1024 * 1024 });
  const [data] = (await once(ws, 'message').then(() => once(ws, 'message'))) as [Buffer];
  ws.close();
  const ids = [...data.toString().matchAll(/"id":"(\d+)"/g)].map((match) => Number(match[1]));
  return Math.max(0, ...ids);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});

/**
 * The clients of the reconnect storm (`storm.ts`): a child process of the bench runner, pinned
 * to the generator's core. Each client is a `ws` client that parses every frame (the storm is
 * about connects and resumes, a few frames each, not about throughput), keeps the ids it has of
 * its room, and reconnects as the app's client does after a server's restart: at once, with
 * `?after=` the newest id it has, and again after a short jittered wait while the server is down.
 */
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { Progress } from './progress';

/** What the runner asks of the clients. */
export type StormCommand =
  | { readonly kind: 'connect'; readonly url: string; readonly origin: string; readonly rooms: number; readonly perRoom: number }
  /** Each room's first client sends `count` messages; answered once every client present has every id up to `head`. */
  | { readonly kind: 'send'; readonly count: number; readonly head: number }
  /** Every `every`-th client of each room (never the first) closes and stays away. */
  | { readonly kind: 'leave'; readonly every: number }
  /** The clients away start reconnecting too (to a server that may be down). */
  | { readonly kind: 'return' }
  /**
   * The server has just started again: each room's first client sends `count` messages as soon
   * as it is back; answered once every client has every id up to `head`.
   */
  | { readonly kind: 'storm'; readonly count: number; readonly head: number }
  | { readonly kind: 'close' };

/** What the clients answer, one report per command. */
export type StormReport =
  | { readonly kind: 'done'; readonly ms: number; readonly generatorCpuMs: number }
  | {
      readonly kind: 'caught-up';
      /** From the command to every client having welcome, history and presence again. */
      readonly backMs: number;
      /** From the command to every client having every message up to the head, once each. */
      readonly caughtUpMs: number;
      /** Connection attempts since the clients away were told to return (the outage's retries included). */
      readonly attempts: number;
      readonly refused: number;
      readonly missing: number;
      readonly duplicates: number;
      readonly generatorCpuMs: number;
    }
  | { readonly kind: 'failed'; readonly error: string };

/** While the server is down, a client tries again after this long, jittered by as much again. */
const RETRY_MS = 100;
/** Clients connecting at once on the first connect. */
const FIRST_CONNECT_CONCURRENCY = 100;

interface Client {
  readonly room: string;
  readonly index: number;
  socket: WebSocket | null;
  /** Welcome, history and presence since the last (re)connect. */
  ready: boolean;
  readonly seen: Set<number>;
  duplicates: number;
  /** Left on purpose: not reconnected until told. */
  away: boolean;
  /** Messages to send once back (the storm's senders). */
  toSend: number;
}

let clients: Client[] = [];
let url = '';
let origin = '';
let attempts = 0;
let refused = 0;
const progress = new Progress();
/** Waits for `condition`, at most 2 minutes (then the report says what is missing). */
const until = (condition: () => boolean): Promise<void> => progress.until(condition, 120_000);

/** The newest id up to which the client has every message. */
function newest(client: Client): number {
  let id = 0;
  while (client.seen.has(id + 1)) id++;
  return id;
}

function record(client: Client, id: number): void {
  if (client.seen.has(id)) client.duplicates++;
  else client.seen.add(id);
}

/** Connects `client`; resolves once it is ready or closed. A close that was not asked for reconnects it. */
function open(client: Client): Promise<void> {
  attempts++;
  const after = newest(client);
  const socket = new WebSocket(`${url}/ws/chat/${client.room}/${after > 0 ? `?after=${after}` : ''}`, { origin, perMessageDeflate: false });
  client.socket = socket;
  client.ready = false;
  let welcomed = false;
  let historied = false;
  return new Promise((resolve) => {
    let settled = false;
    const settle = (): void => {
      if (settled) return;
      settled = true;
      resolve();
    };
    socket.on('message', (data: Buffer) => {
      const frame = JSON.parse(data.toString()) as { type: string; id?: string; messages?: { id: string }[] };
      if (frame.type === 'welcome') welcomed = true;
      else if (frame.type === 'history') {
        historied = true;
        for (const message of frame.messages ?? []) record(client, Number(message.id));
      } else if (frame.type === 'presence' && welcomed && historied && !client.ready) {
        client.ready = true;
        // Once only, whatever happens next: a new connection is a new guest, whose client_id
        // the server would not know.
        for (; client.toSend > 0; client.toSend--) sendOne(client);
        settle();
        progress.changed();
      } else if (frame.type === 'chat.message' && frame.id !== undefined) {
        record(client, Number(frame.id));
        progress.changed();
      }
    });
    socket.on('error', () => {});
    socket.on('unexpected-response', (_request, response) => {
      refused++;
      response.resume();
      socket.terminate();
    });
    socket.on('close', () => {
      if (client.socket === socket) client.socket = null;
      client.ready = false;
      settle();
      if (!client.away) setTimeout(() => void open(client), RETRY_MS * (1 + Math.random())).unref();
    });
  });
}

async function connectAll(command: Extract<StormCommand, { kind: 'connect' }>): Promise<void> {
  url = command.url;
  origin = command.origin;
  clients = [];
  for (let room = 0; room < command.rooms; room++) {
    for (let index = 0; index < command.perRoom; index++) {
      clients.push({ room: `storm-${room}`, index, socket: null, ready: false, seen: new Set(), duplicates: 0, away: false, toSend: 0 });
    }
  }
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < clients.length) await open(clients[next++]!);
  };
  await Promise.all(Array.from({ length: FIRST_CONNECT_CONCURRENCY }, worker));
  await until(() => clients.every((client) => client.ready));
}

let sentCount = 0;
function sendOne(client: Client): void {
  const n = sentCount++;
  client.socket?.send(JSON.stringify({ type: 'chat.message', message: `storm ${n} 风暴`, client_id: `s${n}` }));
}

function present(client: Client): boolean {
  return !client.away;
}

async function handle(command: StormCommand): Promise<StormReport> {
  const startedAt = performance.now();
  const cpuBefore = process.cpuUsage();
  const done = (): StormReport => {
    const cpu = process.cpuUsage(cpuBefore);
    return { kind: 'done', ms: performance.now() - startedAt, generatorCpuMs: (cpu.user + cpu.system) / 1000 };
  };
  switch (command.kind) {
    case 'connect':
      await connectAll(command);
      return done();
    case 'send':
      for (const client of clients) if (client.index === 0) for (let n = 0; n < command.count; n++) sendOne(client);
      await until(() => clients.every((client) => !present(client) || newest(client) >= command.head));
      return done();
    case 'leave':
      for (const client of clients) {
        if (client.index === 0 || client.index % command.every !== 0) continue;
        client.away = true;
        client.socket?.close();
      }
      await until(() => clients.every((client) => present(client) || client.socket === null));
      return done();
    case 'return':
      attempts = 0;
      refused = 0;
      for (const client of clients) {
        if (!client.away) continue;
        client.away = false;
        if (client.socket === null) void open(client);
      }
      return done();
    case 'storm': {
      for (const client of clients) {
        if (client.index !== 0) continue;
        // A sender back already (between the server listening and this command) sends now.
        if (client.ready) for (let n = 0; n < command.count; n++) sendOne(client);
        else client.toSend = command.count;
      }
      let backMs = Number.NaN;
      await until(() => {
        if (Number.isNaN(backMs) && clients.every((client) => client.ready)) backMs = performance.now() - startedAt;
        return !Number.isNaN(backMs) && clients.every((client) => newest(client) >= command.head);
      });
      const cpu = process.cpuUsage(cpuBefore);
      let missing = 0;
      let duplicates = 0;
      for (const client of clients) {
        for (let id = 1; id <= command.head; id++) if (!client.seen.has(id)) missing++;
        duplicates += client.duplicates;
      }
      return {
        kind: 'caught-up',
        backMs,
        caughtUpMs: performance.now() - startedAt,
        attempts,
        refused,
        missing,
        duplicates,
        generatorCpuMs: (cpu.user + cpu.system) / 1000,
      };
    }
    case 'close':
      for (const client of clients) {
        client.away = true;
        client.socket?.terminate();
      }
      return done();
  }
}

process.on('message', (command: StormCommand) => {
  handle(command).then(
    (report) => process.send!(report),
    (error: unknown) => process.send!({ kind: 'failed', error: String(error) } satisfies StormReport),
  );
});

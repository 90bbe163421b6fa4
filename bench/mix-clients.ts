/**
 * The clients of the realistic mix (`mix.ts`): a child process of the bench runner, pinned to
 * the generator's core. It makes the plan of `mix-plan.ts` from the options (the same seed, the
 * same plan), gets each person a session as a browser does (a page load for a guest; sign-up for
 * an account, which then makes its private rooms, adds their members and opens its direct
 * messages), connects everyone present at the start with their session cookie from an address of
 * their own, then plays the schedule: messages from a random member of the room with budget left
 * (some after a typing frame), read markers a while after something new arrived, leaves and
 * returns (resuming with `?after=` the newest id held, or joining afresh), late joins.
 *
 * Frames are read as `storm-clients.ts` reads them, except presence and typing lists, which are
 * only counted (a presence list of a big room is tens of KiB, twice a second, to each member).
 * Each connection keeps the ids of its room it holds; at the end, every connection must hold
 * every id from where it joined to the room's newest, once each. With `features: 'messages'` (the
 * naive server) there are no sessions, typing, reads, leaves or late joins, only the messages.
 */
import { request } from 'node:http';
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { LatencyHistogram } from './latency-histogram';
import { type MixEvent, type MixOptions, type MixPlan, personAddress, planMix, SendBudget, seededRandom } from './mix-plan';
import { Progress } from './progress';

export type MixFeatures = 'all' | 'messages';

export type MixCommand =
  | {
      readonly kind: 'setup';
      readonly host: string;
      readonly port: number;
      readonly origin: string;
      readonly options: MixOptions;
      readonly features: MixFeatures;
    }
  | { readonly kind: 'run' }
  | { readonly kind: 'close' };

export interface MixSetupReport {
  readonly kind: 'set-up';
  readonly rooms: number;
  readonly connections: number;
  readonly persons: number;
  readonly accounts: number;
  readonly sessionsMs: number;
  readonly accountsMs: number;
  readonly connectMs: number;
}

export interface MixRunReport {
  readonly kind: 'ran';
  readonly windowMs: number;
  /** From the start of the window to everything settled (or the drain's deadline). */
  readonly elapsedMs: number;
  readonly sent: number;
  readonly acknowledged: number;
  /** Messages of the whole run (warm-up included) never acknowledged: must be 0. */
  readonly unacknowledged: number;
  /** Scheduled messages no member could send (nobody there with budget left). */
  readonly skipped: number;
  /** Chat messages received live (not in a history frame), the senders' own echoes included. */
  readonly deliveries: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly typingSent: number;
  readonly readsSent: number;
  readonly leaves: number;
  readonly resumes: number;
  /** Fresh joins in the window: late joiners and returns without `?after=`. */
  readonly joins: number;
  /** Connects plus history (welcome, history, presence received), from opening the socket. */
  readonly joinP50Ms: number;
  readonly joinP99Ms: number;
  readonly resumeP50Ms: number;
  readonly resumeP99Ms: number;
  readonly presenceFrames: number;
  readonly typingFrames: number;
  readonly readFrames: number;
  /** Over the whole run, warm-up included, like the errors, resets and closes below. */
  readonly missing: number;
  readonly duplicates: number;
  /** Resumes answered with `reset` (an `after` the server did not know). */
  readonly resets: number;
  /** Error frames by code (`rate_limited` must be 0). */
  readonly errors: Readonly<Record<string, number>>;
  /** Closes nobody asked for, and handshakes refused. */
  readonly unexpectedCloses: number;
  readonly generatorCpuMs: number;
}

/** `window`: the warm-up is over, the measured window starts now (sent during `run`, before its report). */
export type MixReport =
  | MixSetupReport
  | MixRunReport
  | { readonly kind: 'window' }
  | { readonly kind: 'closed' }
  | { readonly kind: 'failed'; readonly error: string };

const CONNECT_CONCURRENCY = 50;
/** Page loads at once while sessions are made (the server's core is the bound, not this). */
const SESSION_CONCURRENCY = 8;
/** Sign-ups at once: the server hashes two passwords at a time and queues 32. */
const SIGN_UP_CONCURRENCY = 8;
const PASSWORD = 'mix-bench-password';
const FILLER = 'a line of chat of a usual length, 你好，世界';

interface Connection {
  readonly index: number;
  readonly room: number;
  readonly person: number;
  socket: WebSocket | null;
  ready: boolean;
  /** Closed on purpose and not back yet (or not joined yet). */
  away: boolean;
  /** Wants to leave once its messages are acknowledged. */
  leaving: boolean;
  /** Every id above `from` must be held. */
  from: number;
  /** The highest id up to which every id is held. */
  contiguous: number;
  seen: Set<number>;
  /** Messages sent and not yet echoed back. */
  pending: number;
  readTimer: NodeJS.Timeout | null;
}

let plan: MixPlan;
let options: MixOptions;
let features: MixFeatures = 'all';
let host = '';
let port = 0;
let origin = '';
let roomNames: string[] = [];
let cookies: string[] = [];
let connections: Connection[] = [];
let heads: number[] = [];
let closing = false;
const random = seededRandom(0x5eed);

const latency = new LatencyHistogram();
const joinTimes = new LatencyHistogram();
const resumeTimes = new LatencyHistogram();
const counts = {
  sent: 0,
  acknowledged: 0,
  skipped: 0,
  deliveries: 0,
  typingSent: 0,
  readsSent: 0,
  leaves: 0,
  resumes: 0,
  joins: 0,
  presenceFrames: 0,
  typingFrames: 0,
  readFrames: 0,
};
/** Whole-run counts: not reset when the window starts. */
const faults = { duplicates: 0, resets: 0, unexpectedCloses: 0 };
let errors: Record<string, number> = {};
let measuring = false;
const progress = new Progress();

const PRESENCE = Buffer.from('{"type":"presence"');
const TYPING = Buffer.from('{"type":"typing"');
const READ = Buffer.from('{"type":"read"');

function startsWith(data: Buffer, prefix: Buffer): boolean {
  return data.length >= prefix.length && data.compare(prefix, 0, prefix.length, 0, prefix.length) === 0;
}

interface HttpAnswer {
  readonly status: number;
  readonly cookie: string | null;
  readonly body: unknown;
}

/** One HTTP request from `person`'s own address, with their cookie; answers the status, a new session cookie, the JSON body. */
function http(method: string, path: string, person: number, body?: unknown): Promise<HttpAnswer> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const headers: Record<string, string> = { origin };
  if (cookies[person]) headers.cookie = cookies[person];
  if (payload !== undefined) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = String(Buffer.byteLength(payload));
  }
  return new Promise((resolve, reject) => {
    const outgoing = request({ host, port, method, path, headers, localAddress: personAddress(person), agent: false }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        const setCookie = response.headers['set-cookie']?.find((value) => value.startsWith('session='));
        let parsed: unknown = null;
        if ((response.headers['content-type'] ?? '').includes('json')) parsed = JSON.parse(text) as unknown;
        resolve({ status: response.statusCode ?? 0, cookie: setCookie ? setCookie.slice(0, setCookie.indexOf(';')) : null, body: parsed });
      });
      response.on('error', reject);
    });
    outgoing.on('error', reject);
    outgoing.end(payload);
  });
}

async function expectStatus(answer: Promise<HttpAnswer>, statuses: readonly number[], what: string): Promise<HttpAnswer> {
  const done = await answer;
  if (!statuses.includes(done.status)) throw new Error(`${what}: HTTP ${done.status} ${JSON.stringify(done.body)}`);
  return done;
}

async function inParallel<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

/** A guest's session from a page load; then the accounts, their private rooms and direct messages. */
async function makeSessions(): Promise<{ sessionsMs: number; accountsMs: number }> {
  const startedAt = performance.now();
  const persons = Array.from({ length: plan.persons }, (_, person) => person);
  await inParallel(persons, SESSION_CONCURRENCY, async (person) => {
    const answer = await expectStatus(http('GET', '/favicon.ico', person), [200, 404], 'a page load');
    if (!answer.cookie) throw new Error('a page load set no session cookie');
    cookies[person] = answer.cookie;
  });
  const sessionsMs = performance.now() - startedAt;
  const accountsAt = performance.now();
  const userIds: string[] = [];
  await inParallel(persons.slice(0, plan.accounts), SIGN_UP_CONCURRENCY, async (person) => {
    const answer = await expectStatus(http('POST', '/api/accounts', person, { username: `mix${person}`, password: PASSWORD }), [201], 'a sign-up');
    cookies[person] = answer.cookie ?? cookies[person]!;
    userIds[person] = (answer.body as { user_id: string }).user_id;
  });
  for (const room of plan.rooms) {
    const members = room.connections.map((index) => plan.connections[index]!.person);
    if (room.kind === 'private') {
      const [owner, ...others] = members;
      const made = await expectStatus(http('POST', '/api/rooms', owner!, { title: `Mix ${room.name} 私聊` }), [201], 'a private room');
      const name = (made.body as { room: string }).room;
      roomNames[plan.rooms.indexOf(room)] = name;
      for (const other of others) await expectStatus(http('POST', `/api/rooms/${name}/members`, owner!, { username: `mix${other}` }), [201], 'a member added');
    } else if (room.kind === 'direct') {
      const [first, second] = members;
      const opened = await expectStatus(http('POST', '/api/dms', first!, { user_id: userIds[second!] }), [200], 'a direct message');
      roomNames[plan.rooms.indexOf(room)] = (opened.body as { room: string }).room;
    }
  }
  return { sessionsMs, accountsMs: performance.now() - accountsAt };
}

function record(connection: Connection, id: number): void {
  if (id <= connection.from || connection.seen.has(id)) {
    faults.duplicates++;
    return;
  }
  connection.seen.add(id);
  while (connection.seen.has(connection.contiguous + 1)) connection.contiguous++;
  if (id > heads[connection.room]!) heads[connection.room] = id;
}

interface MessageFrame {
  readonly type: string;
  readonly id?: string;
  readonly message?: string;
  readonly client_id?: string;
  readonly code?: string;
  readonly head?: string;
  readonly reset?: boolean;
  readonly messages?: readonly { readonly id: string }[];
}

/** Opens `connection`: resuming with `?after=` the newest id it holds, or joining afresh. Resolves once it is ready or closed. */
function open(connection: Connection, resume: boolean): Promise<void> {
  // Nothing held yet (the room was empty when it left): no `?after=` to give, so a fresh join.
  const fresh = !resume || connection.contiguous === 0;
  const after = fresh ? '' : `?after=${connection.contiguous}`;
  const headers: Record<string, string> = {};
  const cookie = features === 'all' ? cookies[connection.person] : undefined;
  if (cookie) headers.cookie = cookie;
  const startedAt = performance.now();
  const socket = new WebSocket(`ws://${host}:${port}/ws/chat/${roomNames[connection.room]}/${after}`, {
    origin,
    perMessageDeflate: false,
    headers,
    localAddress: personAddress(connection.person),
  });
  connection.socket = socket;
  connection.ready = false;
  connection.away = false;
  let welcomed = features === 'messages';
  let historied = features === 'messages';
  return new Promise((resolve) => {
    let settled = false;
    const settle = (): void => {
      if (settled) return;
      settled = true;
      resolve();
    };
    const ready = (): void => {
      connection.ready = true;
      if (measuring) (resume ? resumeTimes : joinTimes).record(performance.now() - startedAt);
      settle();
      progress.changed();
    };
    if (features === 'messages') socket.on('open', ready);
    socket.on('message', (data: Buffer) => {
      if (startsWith(data, PRESENCE)) {
        if (measuring) counts.presenceFrames++;
        if (welcomed && historied && !connection.ready) ready();
        return;
      }
      if (startsWith(data, TYPING)) {
        counts.typingFrames++;
        return;
      }
      if (startsWith(data, READ)) {
        counts.readFrames++;
        return;
      }
      const frame = JSON.parse(data.toString()) as MessageFrame;
      switch (frame.type) {
        case 'chat.message':
          onMessage(connection, frame);
          return;
        case 'welcome':
          welcomed = true;
          return;
        case 'history':
          if (frame.reset) faults.resets++;
          if (fresh || frame.reset) {
            // A fresh join holds the latest page and must have everything after its head.
            const head = Number(frame.head ?? frame.messages?.at(-1)?.id ?? 0);
            connection.from = head;
            connection.contiguous = head;
            connection.seen = new Set();
            if (head > heads[connection.room]!) heads[connection.room] = head;
          } else {
            for (const message of frame.messages ?? []) record(connection, Number(message.id));
          }
          historied = true;
          return;
        case 'error':
          errors[frame.code ?? 'unknown'] = (errors[frame.code ?? 'unknown'] ?? 0) + 1;
          return;
        default:
          return;
      }
    });
    socket.on('error', () => {});
    let refused = false;
    socket.on('unexpected-response', (_request, response) => {
      faults.unexpectedCloses++;
      refused = true;
      response.resume();
      socket.terminate();
    });
    socket.on('close', () => {
      if (connection.socket === socket) connection.socket = null;
      const wasAway = connection.away;
      connection.ready = false;
      settle();
      if (wasAway || closing) return;
      // Not asked for: back at once, as the app's client does (a refusal is counted once, above).
      if (!refused) faults.unexpectedCloses++;
      setTimeout(() => void open(connection, true), 100).unref();
    });
  });
}

function onMessage(connection: Connection, frame: MessageFrame): void {
  const id = Number(frame.id);
  record(connection, id);
  counts.deliveries++;
  const text = frame.message ?? '';
  if (text.startsWith('m|')) latency.record(performance.now() - Number(text.slice(2, text.indexOf('|', 2))));
  if (frame.client_id?.startsWith(`c${connection.index}.`)) {
    connection.pending--;
    counts.acknowledged++;
  }
  if (features === 'all' && connection.readTimer === null && !connection.leaving) {
    const [low, high] = options.readDelayMs;
    connection.readTimer = setTimeout(() => {
      connection.readTimer = null;
      if (!connection.ready) return;
      connection.socket?.send(JSON.stringify({ type: 'read', id: String(connection.contiguous) }));
      counts.readsSent++;
    }, low + random() * (high - low));
  }
  progress.changed();
}

async function connectAll(): Promise<number> {
  const startedAt = performance.now();
  heads = plan.rooms.map(() => 0);
  connections = plan.connections.map((planned, index) => ({
    index,
    room: planned.room,
    person: planned.person,
    socket: null,
    ready: false,
    away: true,
    leaving: false,
    from: 0,
    contiguous: 0,
    seen: new Set<number>(),
    pending: 0,
    readTimer: null,
  }));
  // The naive server has no late joiners: everyone is there for the messages.
  const present = connections.filter((connection) => features === 'messages' || !plan.connections[connection.index]!.late);
  await inParallel(present, CONNECT_CONCURRENCY, (connection) => open(connection, false));
  await progress.until(() => present.every((connection) => connection.ready), 60_000);
  if (!present.every((connection) => connection.ready)) throw new Error('not every client could join');
  return performance.now() - startedAt;
}

/** A member of `room` who is there and has budget left, from a random place in the room; null when none. */
function sender(room: number, budget: SendBudget, now: number): Connection | null {
  const members = plan.rooms[room]!.connections;
  const start = Math.floor(random() * members.length);
  for (let step = 0; step < members.length; step++) {
    const connection = connections[members[(start + step) % members.length]!]!;
    if (connection.ready && !connection.leaving && budget.take(connection.person, now)) return connection;
  }
  return null;
}

function leave(connection: Connection, event: Extract<MixEvent, { kind: 'leave' }>): void {
  connection.leaving = true;
  const go = (): void => {
    // Its own messages echoed first: one still on its way would be stored but not acknowledged to it.
    if (connection.pending > 0 || !connection.ready) {
      setTimeout(go, 50);
      return;
    }
    connection.leaving = false;
    connection.away = true;
    // Not a sender from here: a frame sent on a closing socket is dropped, never acknowledged.
    connection.ready = false;
    if (connection.readTimer !== null) clearTimeout(connection.readTimer);
    connection.readTimer = null;
    connection.socket?.close(1000);
    counts.leaves++;
    setTimeout(() => {
      if (closing) return;
      if (event.resume) counts.resumes++;
      else counts.joins++;
      void open(connection, event.resume);
    }, event.awayMs);
  };
  go();
}

/** Plays the schedule over the window, then waits for everything to settle. */
async function run(): Promise<MixRunReport> {
  errors = {};
  let cpuBefore = process.cpuUsage();
  let windowAt = Number.NaN;
  const startWindow = (): void => {
    for (const histogram of [latency, joinTimes, resumeTimes]) histogram.reset();
    for (const key of Object.keys(counts) as (keyof typeof counts)[]) counts[key] = 0;
    measuring = true;
    cpuBefore = process.cpuUsage();
    windowAt = performance.now();
    process.send!({ kind: 'window' } satisfies MixReport);
  };
  const budget = new SendBudget(options.personPerSecond, options.personBurst);
  const typed = new Map<number, Connection>();
  const events = plan.events.filter((event) => features === 'all' || event.kind === 'message');
  const startedAt = performance.now();
  let next = 0;
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const now = performance.now();
      const elapsed = now - startedAt;
      if (!measuring && elapsed >= options.warmUpMs) startWindow();
      for (; next < events.length && events[next]!.at <= elapsed; next++) {
        const event = events[next]!;
        switch (event.kind) {
          case 'typing': {
            const typist = sender(event.room, budget, now);
            if (!typist) break;
            typed.set(event.message, typist);
            typist.socket?.send('{"type":"typing"}');
            counts.typingSent++;
            break;
          }
          case 'message': {
            const reserved = typed.get(event.message);
            typed.delete(event.message);
            const author = reserved?.ready && !reserved.leaving ? reserved : sender(event.room, budget, now);
            if (!author) {
              counts.skipped++;
              break;
            }
            const due = startedAt + event.at;
            author.pending++;
            author.socket!.send(JSON.stringify({ type: 'chat.message', message: `m|${due.toFixed(3)}|${FILLER}`, client_id: `c${author.index}.${event.message}` }));
            counts.sent++;
            break;
          }
          case 'leave':
            if (connections[event.connection]!.ready) leave(connections[event.connection]!, event);
            break;
          case 'join': {
            counts.joins++;
            void open(connections[event.connection]!, false);
            break;
          }
        }
      }
      if (elapsed >= options.warmUpMs + options.windowMs) {
        clearInterval(ticking);
        resolve();
      }
    };
    const ticking = setInterval(tick, 1);
  });
  await progress.until(
    () =>
      connections.every((connection) => connection.ready && connection.pending === 0 && connection.contiguous >= heads[connection.room]!),
    options.drainMs,
  );
  const elapsedMs = performance.now() - windowAt;
  measuring = false;
  let unacknowledged = 0;
  for (const connection of connections) unacknowledged += connection.pending;
  let missing = 0;
  for (const connection of connections) {
    for (let id = connection.from + 1; id <= heads[connection.room]!; id++) if (!connection.seen.has(id)) missing++;
  }
  const cpu = process.cpuUsage(cpuBefore);
  return {
    kind: 'ran',
    windowMs: options.windowMs,
    elapsedMs,
    ...counts,
    ...faults,
    unacknowledged,
    p50Ms: latency.percentile(0.5),
    p99Ms: latency.percentile(0.99),
    maxMs: latency.max,
    joinP50Ms: joinTimes.percentile(0.5),
    joinP99Ms: joinTimes.percentile(0.99),
    resumeP50Ms: resumeTimes.percentile(0.5),
    resumeP99Ms: resumeTimes.percentile(0.99),
    missing,
    errors,
    generatorCpuMs: (cpu.user + cpu.system) / 1000,
  };
}

async function handle(command: MixCommand): Promise<MixReport> {
  switch (command.kind) {
    case 'setup': {
      ({ host, port, origin, options, features } = command);
      plan = planMix(options);
      roomNames = plan.rooms.map((room) => room.name);
      cookies = [];
      const { sessionsMs, accountsMs } = features === 'all' ? await makeSessions() : { sessionsMs: 0, accountsMs: 0 };
      const connectMs = await connectAll();
      return {
        kind: 'set-up',
        rooms: plan.rooms.length,
        connections: plan.connections.length,
        persons: plan.persons,
        accounts: plan.accounts,
        sessionsMs,
        accountsMs,
        connectMs,
      };
    }
    case 'run':
      return run();
    case 'close':
      closing = true;
      for (const connection of connections) {
        if (connection.readTimer !== null) clearTimeout(connection.readTimer);
        connection.socket?.terminate();
      }
      return { kind: 'closed' };
  }
}

process.on('message', (command: MixCommand) => {
  handle(command).then(
    (report) => process.send!(report),
    (error: unknown) => process.send!({ kind: 'failed', error: error instanceof Error ? (error.stack ?? error.message) : String(error) } satisfies MixReport),
  );
});

/**
 * The load generator: a child process of the bench runner (`bench/run.ts`), pinned to its own
 * core. It opens the clients, sends chat messages on a fixed schedule, and reads every delivery
 * with as little work as it can: no string is made and no JSON parsed per frame; the send time
 * is read straight from the bytes, and the clock once per chunk read.
 *
 * Every message's text carries the step it belongs to and the time it was due to be sent, so
 * latency counts from the schedule (a server that falls behind is charged for it) and late
 * deliveries of an earlier step are not counted in a later one.
 */
import { performance } from 'node:perf_hooks';
import type { ConnectCommand, GeneratorCommand, GeneratorReport, StepCommand, StepReport } from './generator-protocol';
import { LatencyHistogram } from './latency-histogram';
import { RawSocket, type RawSocketOptions } from './raw-socket';
import { RawSse } from './raw-sse';

const MARK = Buffer.from('"message":"b|');
const CHAR_C = 'c'.charCodeAt(0);
const CHAR_E = 'e'.charCodeAt(0);
const CHAR_P = 'p'.charCodeAt(0);
const CHAR_R = 'r'.charCodeAt(0);
const CHAR_PIPE = '|'.charCodeAt(0);
const CHAR_DOT = '.'.charCodeAt(0);
const CHAR_0 = '0'.charCodeAt(0);
/** `{"type":"` is 9 bytes: the type's first letters follow. */
const TYPE_AT = 9;
/** A chat line of a usual length, with Chinese in it, after the bench's own fields. */
const FILLER = 'hello from the load generator, 你好，世界';

interface Client {
  readonly socket: Pick<RawSocket, 'sendText' | 'close'>;
  readonly room: number;
}

const histogram = new LatencyHistogram();
let clients: Client[] = [];
let roomSizes: number[] = [];
let currentStep = -1;
let received = 0;
let errors = 0;
let now = 0;
let messageCounter = 0;

function report(message: GeneratorReport): void {
  process.send?.(message);
}

function onChunk(): void {
  now = performance.now();
}

/** Reads the bench fields of a delivery in place: `"message":"b|<step>|<due ms>|...`. */
function onText(buffer: Buffer, start: number, end: number): void {
  const first = buffer[start + TYPE_AT];
  if (first === CHAR_E) {
    errors++;
    return;
  }
  if (first !== CHAR_C) return;
  let at = buffer.indexOf(MARK, start);
  if (at === -1 || at >= end) return;
  at += MARK.length;
  let step = 0;
  for (let byte = buffer[at]!; byte !== CHAR_PIPE; byte = buffer[++at]!) step = step * 10 + (byte - CHAR_0);
  if (step !== currentStep) return;
  let due = 0;
  let scale = 0;
  for (let byte = buffer[++at]!; byte !== CHAR_PIPE; byte = buffer[++at]!) {
    if (byte === CHAR_DOT) scale = 1;
    else {
      due = due * 10 + (byte - CHAR_0);
      if (scale) scale *= 10;
    }
  }
  received++;
  histogram.record(now - (scale ? due / scale : due));
}

/**
 * A loopback address of a client's own (127.2.0.1 on), as each browser has an address of its
 * own: the fallback's per-address budgets (POSTs, idle keep-alive sockets) are against one
 * address's abuse, and the bench's thousand clients would meet them from one.
 */
function loopbackAddress(index: number): string {
  return `127.${2 + Math.floor(index / 62_500)}.${Math.floor(index / 250) % 250}.${(index % 250) + 1}`;
}

async function connectAll(command: ConnectCommand): Promise<void> {
  const startedAt = performance.now();
  const cpuBefore = process.cpuUsage();
  const roomIndex = new Map<string, number>();
  roomSizes = [];
  for (const client of command.clients) {
    let index = roomIndex.get(client.room);
    if (index === undefined) {
      index = roomSizes.length;
      roomIndex.set(client.room, index);
      roomSizes.push(0);
    }
    roomSizes[index]!++;
  }
  const opened: Client[] = new Array(command.clients.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < command.clients.length) {
      const index = next++;
      const spec = command.clients[index]!;
      const target = command.targets[spec.target]!;
      let ready: () => void = () => {};
      const joined = new Promise<void>((resolve) => (ready = resolve));
      let waiting = command.readyOn === 'presence';
      const socketIo = command.transport === 'socket.io';
      const options: RawSocketOptions = {
        host: target.host,
        port: target.port,
        path: socketIo ? `/socket.io/?EIO=4&transport=websocket&room=${spec.room}` : `/ws/chat/${spec.room}/`,
        protocol: socketIo ? 'socket.io' : 'websocket',
        origin: command.origin,
        onChunk,
        onText: (buffer, start, end) => {
          if (waiting && buffer[start + TYPE_AT] === CHAR_P && buffer[start + TYPE_AT + 1] === CHAR_R) {
            waiting = false;
            ready();
          }
          onText(buffer, start, end);
        },
      };
      const socket =
        command.transport === 'sse'
          ? await RawSse.open({ ...options, localAddress: loopbackAddress(index), onRefused: () => errors++ })
          : await RawSocket.open(options);
      if (command.readyOn === 'open') ready();
      await joined;
      opened[index] = { socket, room: roomIndex.get(spec.room)! };
    }
  };
  await Promise.all(Array.from({ length: Math.min(command.concurrency, command.clients.length) }, worker));
  clients = opened;
  const cpu = process.cpuUsage(cpuBefore);
  report({ kind: 'connected', clients: clients.length, ms: performance.now() - startedAt, generatorCpuMs: (cpu.user + cpu.system) / 1000 });
}

function runStep(command: StepCommand): Promise<StepReport> {
  currentStep = command.step;
  received = 0;
  errors = 0;
  histogram.reset();
  const cpuBefore = process.cpuUsage();
  const interval = 1000 / command.rate;
  const total = Math.max(1, Math.round((command.rate * command.durationMs) / 1000));
  let sent = 0;
  let expected = 0;
  let scheduleLagMs = 0;
  const startedAt = performance.now();
  return new Promise((resolve) => {
    const finish = (): void => {
      const cpu = process.cpuUsage(cpuBefore);
      resolve({
        kind: 'stepped',
        sent,
        expected,
        received,
        errors,
        p50Ms: histogram.percentile(0.5),
        p99Ms: histogram.percentile(0.99),
        maxMs: histogram.max,
        generatorCpuMs: (cpu.user + cpu.system) / 1000,
        elapsedMs: performance.now() - startedAt,
        scheduleLagMs,
      });
    };
    const sendDue = (): void => {
      const elapsed = performance.now() - startedAt;
      const due = Math.min(total, Math.floor(elapsed / interval) + 1);
      while (sent < due) {
        const dueAt = startedAt + sent * interval;
        scheduleLagMs = Math.max(scheduleLagMs, startedAt + elapsed - dueAt);
        const sender = clients[command.senders[sent % command.senders.length]!]!;
        sender.socket.sendText(
          `{"type":"chat.message","message":"b|${command.step}|${dueAt.toFixed(3)}|${FILLER}","client_id":"g${messageCounter++}"}`,
        );
        expected += roomSizes[sender.room]!;
        sent++;
      }
      if (sent < total) return;
      clearInterval(sending);
      const deadline = performance.now() + command.drainMs;
      const draining = setInterval(() => {
        if (received >= expected || performance.now() >= deadline) {
          clearInterval(draining);
          finish();
        }
      }, 5);
    };
    const sending = setInterval(sendDue, 1);
    sendDue();
  });
}

process.on('message', (command: GeneratorCommand) => {
  const work = async (): Promise<void> => {
    switch (command.kind) {
      case 'connect':
        await connectAll(command);
        return;
      case 'step':
        report(await runStep(command));
        return;
      case 'close':
        for (const client of clients) client.socket.close();
        clients = [];
        report({ kind: 'closed' });
        process.disconnect?.();
        return;
    }
  };
  work().catch((error: unknown) => report({ kind: 'failed', error: error instanceof Error ? error.message : String(error) }));
});

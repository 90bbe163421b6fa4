/**
 * `node --import tsx bench/half-open.ts [--slow 1000 --upgrades 500 --max-seconds 150]`: the
 * half-open attack of issue 16 against the production build (`npm run build` first), from one
 * address (127.0.0.1): `--slow` HTTP sockets that send a request head a line at a time and never
 * finish it, and `--upgrades` WebSocket upgrade requests cut off before the end of their head,
 * each trickling a header line every `--trickle-ms` (slowloris). Reports, for each kind, how many
 * the server refused at once, how many it held and for how long, and what it answered when it let
 * go; and whether a request from the same address and one from another (127.0.0.2) were served
 * while the attack was on.
 */
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { parseArgs } from 'node:util';
import { AppServer } from '../e2e/support/app-server';
import { raiseFileLimit } from './process-stats';

const { values } = parseArgs({
  options: {
    slow: { type: 'string', default: '1000' },
    upgrades: { type: 'string', default: '500' },
    'trickle-ms': { type: 'string', default: '5000' },
    'max-seconds': { type: 'string', default: '150' },
  },
});
/** A socket the server closed within this long of its connect was refused, not held. */
const REFUSED_WITHIN_MS = 1_000;
const log = (line: string): void => void process.stdout.write(`${line}\n`);
const BATCH = 100;

interface Attacker {
  readonly socket: Socket;
  readonly connectedAt: number;
  closedAt: number | null;
  /** The first bytes the server answered, if any. */
  answer: string;
  readonly closed: Promise<void>;
}

async function open(port: number, head: string): Promise<Attacker> {
  const socket = connect({ port, host: '127.0.0.1' });
  socket.setNoDelay(true);
  await once(socket, 'connect');
  let closed!: () => void;
  const attacker: Attacker = { socket, connectedAt: Date.now(), closedAt: null, answer: '', closed: new Promise((resolve) => (closed = resolve)) };
  socket.on('data', (chunk: Buffer) => {
    if (attacker.answer.length < 64) attacker.answer += chunk.toString('latin1');
  });
  // A refusal may come as a reset: what counts is when the socket closed.
  socket.on('error', (error: NodeJS.ErrnoException) => {
    if (attacker.answer === '') attacker.answer = error.code ?? error.message;
  });
  socket.once('close', () => {
    attacker.closedAt = Date.now();
    closed();
  });
  socket.write(head);
  return attacker;
}

async function openMany(port: number, count: number, head: string): Promise<Attacker[]> {
  const attackers: Attacker[] = [];
  for (let start = 0; start < count; start += BATCH) {
    const batch = Math.min(BATCH, count - start);
    attackers.push(...(await Promise.all(Array.from({ length: batch }, () => open(port, head)))));
  }
  return attackers;
}

/** A plain GET from `localAddress`: its status and time, or the error that stopped it. */
async function probe(port: number, localAddress: string): Promise<string> {
  const started = Date.now();
  const socket = connect({ port, host: '127.0.0.1', localAddress });
  let answer = '';
  socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
  const outcome = new Promise<string>((resolve) => {
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    socket.once('close', () => resolve(answer.split('\r\n')[0] || 'closed without an answer'));
  });
  socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
  return `${await outcome} in ${Date.now() - started} ms`;
}

function summary(name: string, attackers: readonly Attacker[], endedAt: number): string {
  if (attackers.length === 0) return `${name}: none opened`;
  const refused = attackers.filter((a) => a.closedAt !== null && a.closedAt - a.connectedAt < REFUSED_WITHIN_MS);
  const held = attackers.filter((a) => !refused.includes(a));
  const heldMs = held.map((a) => (a.closedAt ?? endedAt) - a.connectedAt).sort((x, y) => x - y);
  const stillOpen = held.filter((a) => a.closedAt === null).length;
  const answers = new Map<string, number>();
  for (const a of attackers) {
    const line = a.answer.split('\r\n')[0] || '(no answer)';
    answers.set(line, (answers.get(line) ?? 0) + 1);
  }
  const seconds = (ms: number | undefined): string => (ms === undefined ? '-' : `${(ms / 1000).toFixed(1)} s`);
  return [
    `${name}: ${attackers.length} opened, ${refused.length} refused at once, ${held.length} held`,
    `  held for: min ${seconds(heldMs[0])}, median ${seconds(heldMs[Math.floor(heldMs.length / 2)])}, max ${seconds(heldMs.at(-1))}` +
      (stillOpen > 0 ? ` (${stillOpen} still open when the run stopped)` : ''),
    `  answers: ${[...answers].map(([line, count]) => `${count} × ${line}`).join('; ')}`,
  ].join('\n');
}

async function main(): Promise<void> {
  raiseFileLimit(process.pid);
  const server = await AppServer.start({ mode: 'production' });
  raiseFileLimit(server.pid!);
  const port = server.port;
  try {
    const startedAt = Date.now();
    const slow = await openMany(port, Number(values.slow), 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    const upgrades = await openMany(
      port,
      Number(values.upgrades),
      'GET /ws/chat/lobby/ HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n',
    );
    const all = [...slow, ...upgrades];
    log(`opened ${all.length} sockets in ${Date.now() - startedAt} ms`);
    log(`during the attack, from the same address: ${await probe(port, '127.0.0.1')}`);
    log(`during the attack, from another address (127.0.0.2): ${await probe(port, '127.0.0.2')}`);

    const trickle = setInterval(() => {
      for (const a of all) if (a.closedAt === null) a.socket.write('X-Trickle: 1\r\n');
    }, Number(values['trickle-ms']));
    const deadline = startedAt + Number(values['max-seconds']) * 1000;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(all.map((a) => a.closed)),
      new Promise((resolve) => (timer = setTimeout(resolve, Math.max(0, deadline - Date.now())))),
    ]);
    clearTimeout(timer);
    clearInterval(trickle);
    const endedAt = Date.now();
    log(summary('slow-header HTTP sockets', slow, endedAt));
    log(summary('half-sent WebSocket upgrades', upgrades, endedAt));
    for (const a of all) a.socket.destroy();
  } finally {
    await server.dispose();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});

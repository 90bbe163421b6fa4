/**
 * `npm run soak [-- --minutes 2 --clients 60 --rooms 6 --max-growth-mb 64]`: the production build
 * under a steady churn of clients that connect, chat and leave, for a bounded time. Reports the
 * server's memory at the start and the end, and the messages lost: not acknowledged within 10 s,
 * acknowledged but not stored, or stored but not delivered to a client that stayed in the room
 * throughout. Fails (exit 1) when anything is lost or memory grew past the bound. Run
 * `npm run build` first.
 */
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { AppServer } from '../e2e/support/app-server';
import { openSqlite } from '../lib/chat/store/sqlite-driver';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '2' },
    clients: { type: 'string', default: '60' },
    rooms: { type: 'string', default: '6' },
    'max-growth-mb': { type: 'string', default: '64' },
  },
});
const minutes = Number(values.minutes);
const clientCount = Number(values.clients);
const roomCount = Number(values.rooms);
const maxGrowthMb = Number(values['max-growth-mb']);
/** A message not acknowledged within this long counts as lost, so one stuck socket cannot stall the run. */
const ACK_TIMEOUT_MS = 10_000;

interface Frame {
  readonly type: string;
  readonly id?: string;
  readonly client_id?: string;
}

/**
 * A raw client: sends a message and resolves true when its echo (the acknowledgement) comes
 * back, false when none came within ACK_TIMEOUT_MS.
 */
class Client {
  readonly ws: WebSocket;
  readonly received = new Set<string>();
  #waiting = new Map<string, () => void>();

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on('message', (data: Buffer) => {
      const frame = JSON.parse(data.toString()) as Frame & { messages?: Frame[] };
      if (frame.type === 'chat.message' && frame.id) {
        this.received.add(frame.id);
        if (frame.client_id) this.#waiting.get(frame.client_id)?.();
      }
      if (frame.type === 'history') for (const message of frame.messages ?? []) if (message.id) this.received.add(message.id);
    });
  }

  static async open(server: AppServer, room: string): Promise<Client> {
    const ws = new WebSocket(`${server.ws}/ws/chat/${room}/`, { headers: { origin: server.origin } });
    await once(ws, 'open');
    return new Client(ws);
  }

  send(clientId: string, text: string): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(clientId);
        resolve(false);
      }, ACK_TIMEOUT_MS);
      this.#waiting.set(clientId, () => {
        clearTimeout(timer);
        this.#waiting.delete(clientId);
        resolve(true);
      });
      this.ws.send(JSON.stringify({ type: 'chat.message', message: text, client_id: clientId }));
    });
  }

  async close(): Promise<void> {
    this.ws.close();
    await once(this.ws, 'close');
  }
}

async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
}

async function main(): Promise<void> {
  const server = await AppServer.start({ mode: 'production', env: { MAX_CONNECTIONS_PER_IP: String(clientCount + roomCount + 10) } });
  try {
    const pid = server.pid!;
    const rooms = Array.from({ length: roomCount }, (_, index) => `soak-${index}`);
    // One observer per room stays for the whole run: it must receive every message of its room.
    const observers = await Promise.all(rooms.map((room) => Client.open(server, room)));
    const acknowledged: Array<{ room: string; clientId: string }> = [];
    let unacknowledged = 0;
    const startMb = await rssMb(pid);
    const deadline = Date.now() + minutes * 60_000;
    let sessions = 0;
    let sequence = 0;

    const worker = async (index: number): Promise<void> => {
      while (Date.now() < deadline) {
        const room = rooms[(index + sessions) % rooms.length]!;
        sessions++;
        const client = await Client.open(server, room);
        // A short stay: a few messages a second apart (under the default rate limit), then leave.
        const messages = 3 + (sequence % 5);
        for (let n = 0; n < messages && Date.now() < deadline; n++) {
          const clientId = `s${++sequence}`;
          if (await client.send(clientId, `soak ${clientId} 你好`)) acknowledged.push({ room, clientId });
          else unacknowledged++;
          await new Promise((resolve) => setTimeout(resolve, 600));
        }
        await client.close();
      }
    };
    const progress = setInterval(() => {
      process.stdout.write(`  ${Math.round((deadline - Date.now()) / 1000)} s left: ${sessions} sessions, ${acknowledged.length} messages\n`);
    }, 15_000);
    await Promise.all(Array.from({ length: clientCount }, (_, index) => worker(index)));
    clearInterval(progress);
    const endMb = await rssMb(pid);

    const db = openSqlite(path.join(server.dataDir, 'chat.db'), { readonly: true });
    const stored = db.prepare('SELECT room, id, client_id FROM messages').all() as Array<{ room: string; id: number; client_id: string }>;
    db.close();
    const storedKeys = new Set(stored.map((row) => `${row.room} ${row.client_id}`));
    const notStored = acknowledged.filter((ack) => !storedKeys.has(`${ack.room} ${ack.clientId}`)).length;
    const notDelivered = stored.filter((row) => !observers[rooms.indexOf(row.room)]!.received.has(String(row.id))).length;
    for (const observer of observers) await observer.close();

    const growth = endMb - startMb;
    const report = {
      minutes,
      clients: clientCount,
      rooms: roomCount,
      sessions,
      messages: acknowledged.length,
      lost: { notAcknowledgedInTime: unacknowledged, acknowledgedButNotStored: notStored, storedButNotDelivered: notDelivered },
      serverRssMb: { start: Math.round(startMb), end: Math.round(endMb), growth: Math.round(growth), bound: maxGrowthMb },
    };
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    const lost = unacknowledged + notStored + notDelivered;
    const failures = [
      ...(lost > 0 ? [`${lost} messages lost`] : []),
      ...(growth > maxGrowthMb ? [`server memory grew ${Math.round(growth)} MB, over the ${maxGrowthMb} MB bound`] : []),
    ];
    if (failures.length > 0) {
      process.stderr.write(`soak failed: ${failures.join('; ')}\n`);
      process.exitCode = 1;
    } else {
      process.stdout.write('soak passed: nothing lost, memory within bounds\n');
    }
  } finally {
    await server.dispose();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});

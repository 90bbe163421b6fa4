/**
 * What the fault tests' client driver reads from the apps besides its clients' sockets: a session
 * cookie (a page load), each app's readiness over time, and the whole history of the room.
 */
import { request } from 'node:http';
import WebSocket from 'ws';
import type { DriverApp, DriverSetup, HistoryEntry, ReadinessSample } from './fault-driver-protocol';

type Frame = Record<string, unknown>;

/** A page load from `address`: the session cookie the server sets on it. */
export function sessionCookie(http: string, address: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(`${http}/`, { localAddress: address, agent: false, timeout: 10_000 }, (res) => {
      res.resume();
      const cookie = (res.headers['set-cookie'] ?? [])[0]?.split(';')[0];
      if (cookie) resolve(cookie);
      else reject(new Error(`no session cookie from ${http}/ (status ${res.statusCode})`));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from ${http}/`)));
    req.on('error', reject);
    req.end();
  });
}

/** Asks each app's `/readyz` in turn, forever, keeping the answers that differ from the one before. */
export class ReadinessProbe {
  readonly samples: ReadinessSample[] = [];
  readonly lastProbeAt: Record<string, number> = {};

  constructor(apps: readonly DriverApp[], everyMs: number) {
    for (const app of apps) void this.#loop(app, everyMs);
  }

  async #loop(app: DriverApp, everyMs: number): Promise<void> {
    let last = '';
    for (;;) {
      const { status, body } = await readyz(app.http);
      const at = Date.now();
      this.lastProbeAt[app.name] = at;
      if (`${status} ${body}` !== last) {
        last = `${status} ${body}`;
        this.samples.push({ app: app.name, at, status, body });
      }
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  }
}

function readyz(http: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const req = request(`${http}/readyz`, { agent: false, timeout: 3_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: body.trim().slice(0, 300) }));
      res.on('error', () => resolve({ status: 0, body: 'response error' }));
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 3000 ms')));
    req.on('error', (error) => resolve({ status: 0, body: error.message.slice(0, 300) }));
    req.end();
  });
}

/** A fresh socket's view of the whole room: the join page, then older pages until there are none. */
export async function readHistory(setup: DriverSetup, app: DriverApp): Promise<HistoryEntry[]> {
  const socket = new WebSocket(`${app.ws}/ws/chat/${setup.room}/`, { headers: { origin: setup.origin } });
  const frames: Frame[] = [];
  let wake: (() => void) | null = null;
  socket.on('message', (data: Buffer) => {
    frames.push(JSON.parse(data.toString()) as Frame);
    wake?.();
  });
  socket.on('error', () => wake?.());
  const deadline = Date.now() + 30_000;
  const next = async (): Promise<Frame> => {
    for (;;) {
      const frame = frames.shift();
      if (frame) return frame;
      if (Date.now() > deadline || socket.readyState > WebSocket.OPEN) throw new Error(`history of ${app.name}: no answer in time`);
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, 500);
      });
    }
  };
  try {
    const byId = new Map<number, string | null>();
    for (;;) {
      const frame = await next();
      if (frame.type !== 'history') continue;
      const messages = frame.messages as Frame[];
      for (const message of messages) byId.set(Number(message.id), typeof message.client_id === 'string' ? message.client_id : null);
      if (frame.has_more !== true || messages.length === 0) break;
      socket.send(JSON.stringify({ type: 'history', before: String(messages[0]!.id), limit: 100 }));
    }
    return [...byId].sort(([a], [b]) => a - b);
  } finally {
    socket.terminate();
  }
}

/**
 * An anchor: the naive broadcast server of `baseline-server.ts` on Bun's built-in WebSocket
 * server (uWebSockets underneath), with the room as a topic: each connection subscribes to its
 * room when it opens, and a message is published to the topic once, which Bun frames once and
 * writes to every subscriber. The same frames and the same behaviour as the baseline: a
 * `chat.message` with the room's next id, the sender's guest name, the text, `ts` and the
 * client's `client_id` echoed, to every member the sender included.
 *
 * `PORT=4000 node_modules/@oven/bun-linux-x64/bin/bun bench/bun-server.ts` (see `bunBinary` in servers.ts)
 */

/** What each connection carries (Bun's `ws.data`). */
interface Session {
  readonly room: string;
  readonly userId: string;
  readonly user: string;
}

/** The few parts of Bun's API used here (the project has no Bun type package). */
interface BunSocket {
  readonly data: Session;
  subscribe(topic: string): void;
}

interface BunServer {
  upgrade(request: Request, options: { data: Session }): boolean;
  publish(topic: string, data: string): number;
}

declare const Bun: {
  serve(options: {
    port: number;
    hostname: string;
    fetch(request: Request, server: BunServer): Response | undefined;
    websocket: { open(ws: BunSocket): void; message(ws: BunSocket, message: string | Uint8Array): void };
  }): BunServer;
};

const sequences = new Map<string, number>();
const port = Number(process.env.PORT ?? 4000);

const server = Bun.serve({
  port,
  hostname: process.env.HOST ?? '127.0.0.1',
  fetch(request, bun) {
    const room = /^\/ws\/chat\/([A-Za-z0-9_-]{1,64})\/$/.exec(new URL(request.url).pathname)?.[1];
    if (room === undefined) return new Response(null, { status: 404 });
    const userId = crypto.getRandomValues(new Uint8Array(8)).reduce((hex, byte) => hex + byte.toString(16).padStart(2, '0'), '');
    if (bun.upgrade(request, { data: { room, userId, user: `Guest ${userId.slice(0, 4)}` } })) return undefined;
    return new Response(null, { status: 400 });
  },
  websocket: {
    open(ws) {
      ws.subscribe(ws.data.room);
    },
    message(ws, data) {
      let frame: { message?: unknown; client_id?: unknown };
      try {
        frame = JSON.parse(typeof data === 'string' ? data : new TextDecoder().decode(data)) as typeof frame;
      } catch {
        return;
      }
      if (typeof frame.message !== 'string') return;
      const { room, userId, user } = ws.data;
      const id = (sequences.get(room) ?? 0) + 1;
      sequences.set(room, id);
      // The server's publish, not the socket's: the socket's leaves the sender out, and the
      // baseline echoes to the sender (its acknowledgement).
      server.publish(
        room,
        JSON.stringify({ type: 'chat.message', id: String(id), room, user_id: userId, user, message: frame.message, ts: Date.now(), client_id: frame.client_id }),
      );
    },
  },
});

process.stdout.write(`{"msg":"listening","port":${port}}\n`);
process.on('SIGTERM', () => process.exit(0));

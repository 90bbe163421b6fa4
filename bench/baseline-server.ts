/**
 * The baseline: the naive raw `ws` broadcast server most chat tutorials end with, speaking the
 * same frames as the app (so both move the same bytes). A `Map<room, Set<WebSocket>>`, one
 * `JSON.parse` and one `JSON.stringify` per message, and `ws.send` to each member. No store, no
 * sessions, no presence, no limits: what the app is measured against.
 *
 * `PORT=4000 node --import tsx bench/baseline-server.ts`
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { type WebSocket, WebSocketServer } from 'ws';

const rooms = new Map<string, Set<WebSocket>>();
const sequences = new Map<string, number>();
const wss = new WebSocketServer({ noServer: true });
const server = createServer((_req, res) => res.writeHead(404).end());

server.on('upgrade', (req, socket, head) => {
  const room = /^\/ws\/chat\/([A-Za-z0-9_-]{1,64})\/$/.exec(req.url ?? '')?.[1];
  if (room === undefined) {
    socket.end('HTTP/1.1 404 Not Found\r\n\r\n');
    return;
  }
  wss.handleUpgrade(req, socket, head, (ws) => {
    const userId = randomBytes(8).toString('hex');
    const user = `Guest ${userId.slice(0, 4)}`;
    let members = rooms.get(room);
    if (!members) {
      members = new Set();
      rooms.set(room, members);
    }
    members.add(ws);
    ws.on('message', (data) => {
      let frame: { message?: unknown; client_id?: unknown };
      try {
        frame = JSON.parse(String(data)) as typeof frame;
      } catch {
        return;
      }
      if (typeof frame.message !== 'string') return;
      const id = (sequences.get(room) ?? 0) + 1;
      sequences.set(room, id);
      const text = JSON.stringify({
        type: 'chat.message',
        id: String(id),
        room,
        user_id: userId,
        user,
        message: frame.message,
        ts: Date.now(),
        client_id: frame.client_id,
      });
      for (const member of members) member.send(text);
    });
    ws.on('close', () => {
      members.delete(ws);
      if (members.size === 0) rooms.delete(room);
    });
  });
});

server.listen(Number(process.env.PORT ?? 4000), process.env.HOST ?? '127.0.0.1', () => {
  process.stdout.write(`{"msg":"listening","port":${Number(process.env.PORT ?? 4000)}}\n`);
});
process.on('SIGTERM', () => process.exit(0));

/**
 * An anchor: the naive broadcast server of `baseline-server.ts` on Socket.IO 4, the library most
 * Node chat servers are built on: the WebSocket transport only, each connection joined to its
 * room (`?room=` on the handshake), and each message emitted to the room with `io.to(room)`,
 * which encodes the packet once for every member. The same payload as the baseline's frame, as
 * the `chat.message` event's argument, to every member the sender included.
 *
 * `PORT=4000 node --import tsx bench/socketio-server.ts`
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { Server } from 'socket.io';

const sequences = new Map<string, number>();
const server = createServer((_req, res) => res.writeHead(404).end());
const io = new Server(server, { transports: ['websocket'], serveClient: false });

io.on('connection', (socket) => {
  const room = socket.handshake.query.room;
  if (typeof room !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(room)) {
    socket.disconnect(true);
    return;
  }
  const userId = randomBytes(8).toString('hex');
  const user = `Guest ${userId.slice(0, 4)}`;
  void socket.join(room);
  socket.on('chat.message', (frame: { message?: unknown; client_id?: unknown } | null) => {
    if (typeof frame?.message !== 'string') return;
    const id = (sequences.get(room) ?? 0) + 1;
    sequences.set(room, id);
    io.to(room).emit('chat.message', {
      type: 'chat.message',
      id: String(id),
      room,
      user_id: userId,
      user,
      message: frame.message,
      ts: Date.now(),
      client_id: frame.client_id,
    });
  });
});

server.listen(Number(process.env.PORT ?? 4000), process.env.HOST ?? '127.0.0.1', () => {
  process.stdout.write(`{"msg":"listening","port":${Number(process.env.PORT ?? 4000)}}\n`);
});
process.on('SIGTERM', () => process.exit(0));

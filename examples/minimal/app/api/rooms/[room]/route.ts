import { channelLayer } from 'next-channels';
import type { RoomEvents } from '@/channels/room';

/** `POST /api/rooms/<room>` with a text body: says it in the room, to every open page. */
export async function POST(request: Request, context: { params: Promise<{ room: string }> }) {
  const { room } = await context.params;
  if (!/^[a-z0-9-]{1,32}$/.test(room)) return new Response('no such room\n', { status: 404 });
  const text = (await request.text()).slice(0, 200);
  await channelLayer<RoomEvents>().groupSend(`room.${room}`, { type: 'room.message', text });
  return new Response(null, { status: 204 });
}

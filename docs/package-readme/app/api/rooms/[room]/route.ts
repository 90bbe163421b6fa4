import { channelLayer } from 'next-channels';
import { remember, roomGroup, type RoomEvents } from '../../../../channels/room';

/**
 * `POST /api/rooms/<room>` with a text body: a message from the server to everyone in the room.
 * Anyone may call it as it stands: check who asks before you deploy something like it.
 */
export async function POST(request: Request, context: { params: Promise<{ room: string }> }): Promise<Response> {
  const { room } = await context.params;
  const text = (await request.text()).slice(0, 500);
  if (!/^[a-z0-9-]{1,32}$/.test(room) || text.length === 0) return new Response('no such room, or no text\n', { status: 400 });
  remember(room, text);
  // The server's live channel layer, its sends typed by the consumer's events.
  await channelLayer<RoomEvents>().groupSend(roomGroup(room), { type: 'room.message', text });
  return new Response(null, { status: 204 });
}

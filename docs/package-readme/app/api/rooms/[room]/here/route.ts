import { livePresence } from 'next-channels';
import { roomGroup } from '../../../../../channels/room';

/** `GET /api/rooms/<room>/here`: the names of everyone in the room now. */
export async function GET(_request: Request, context: { params: Promise<{ room: string }> }): Promise<Response> {
  const { room } = await context.params;
  if (!/^[a-z0-9-]{1,32}$/.test(room)) return new Response('no such room\n', { status: 400 });
  // The server's presence tracker, from any bundle of the process.
  const { entries } = await livePresence().list(roomGroup(room));
  return Response.json({ here: entries.map((entry) => entry.key) });
}

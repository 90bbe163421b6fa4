import { roomDetails } from '@/lib/chat/room-routes';
import { chatRuntime } from '@/lib/chat/runtime';

export const dynamic = 'force-dynamic';

export async function GET(request: Request, context: { params: Promise<{ room: string }> }) {
  const { room } = await context.params;
  return roomDetails(request, room, chatRuntime());
}

import { removeMember } from '@/lib/chat/room-routes';
import { chatRuntime } from '@/lib/chat/runtime';

export const dynamic = 'force-dynamic';

export async function DELETE(request: Request, context: { params: Promise<{ room: string; userId: string }> }) {
  const { room, userId } = await context.params;
  return removeMember(request, room, userId, chatRuntime());
}

import { revokeInvite } from '@/lib/chat/room-routes';
import { chatRuntime } from '@/lib/chat/runtime';

export const dynamic = 'force-dynamic';

export async function DELETE(request: Request, context: { params: Promise<{ room: string; id: string }> }) {
  const { room, id } = await context.params;
  return revokeInvite(request, room, id, chatRuntime());
}

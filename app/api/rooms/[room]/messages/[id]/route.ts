import { deleteMessage } from '@/lib/chat/http-routes';
import { chatRuntime } from '@/lib/chat/runtime';

export const dynamic = 'force-dynamic';

export async function DELETE(request: Request, context: { params: Promise<{ room: string; id: string }> }) {
  const { room, id } = await context.params;
  return deleteMessage(request, room, id, chatRuntime());
}

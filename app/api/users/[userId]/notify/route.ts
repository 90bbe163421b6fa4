import { notify } from '@/lib/chat/http-routes';
import { chatRuntime } from '@/lib/chat/runtime';

export const dynamic = 'force-dynamic';

export async function POST(request: Request, context: { params: Promise<{ userId: string }> }) {
  const { userId } = await context.params;
  return notify(request, userId, chatRuntime());
}

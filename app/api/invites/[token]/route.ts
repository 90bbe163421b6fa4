import { acceptInvite, showInvite } from '@/lib/chat/room-routes';
import { chatRuntime } from '@/lib/chat/runtime';

export const dynamic = 'force-dynamic';

export async function GET(request: Request, context: { params: Promise<{ token: string }> }) {
  const { token } = await context.params;
  return showInvite(request, token, chatRuntime());
}

export async function POST(request: Request, context: { params: Promise<{ token: string }> }) {
  const { token } = await context.params;
  return acceptInvite(request, token, chatRuntime());
}

import { openDirect } from '@/lib/chat/room-routes';
import { chatRuntime } from '@/lib/chat/runtime';

export const dynamic = 'force-dynamic';

export function POST(request: Request) {
  return openDirect(request, chatRuntime());
}

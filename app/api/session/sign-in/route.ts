import { signIn } from '@/lib/chat/account-routes';
import { chatRuntime } from '@/lib/chat/runtime';

export const dynamic = 'force-dynamic';

export function POST(request: Request) {
  return signIn(request, chatRuntime());
}

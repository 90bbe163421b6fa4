import { signUp } from '@/lib/chat/account-routes';
import { chatRuntime } from '@/lib/chat/runtime';

export const dynamic = 'force-dynamic';

export function POST(request: Request) {
  return signUp(request, chatRuntime());
}

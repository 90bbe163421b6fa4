import { issueTicket } from '@/lib/chat/account-routes';
import { chatRuntime } from '@/lib/chat/runtime';

export const dynamic = 'force-dynamic';

export function POST(request: Request) {
  return issueTicket(request, chatRuntime());
}

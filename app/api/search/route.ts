import { searchMessages } from '@/lib/chat/search-routes';
import { chatRuntime } from '@/lib/chat/runtime';

export const dynamic = 'force-dynamic';

export function GET(request: Request) {
  return searchMessages(request, chatRuntime());
}

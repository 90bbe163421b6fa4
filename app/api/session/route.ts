import { currentSession, endSession, renameSession } from '@/lib/chat/http-routes';
import { chatRuntime } from '@/lib/chat/runtime';

export const dynamic = 'force-dynamic';

export function GET(request: Request) {
  return currentSession(request, chatRuntime());
}

export function POST(request: Request) {
  return renameSession(request, chatRuntime());
}

export function DELETE(request: Request) {
  return endSession(request, chatRuntime());
}

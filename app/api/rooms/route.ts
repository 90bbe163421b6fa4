import { createRoom, listRooms } from '@/lib/chat/room-routes';
import { chatRuntime } from '@/lib/chat/runtime';

export const dynamic = 'force-dynamic';

export function GET(request: Request) {
  return listRooms(request, chatRuntime());
}

export function POST(request: Request) {
  return createRoom(request, chatRuntime());
}

import { useCallback, useEffect, useState } from 'react';
import { chatApi, type RoomDetails } from '@/lib/client';

/** Private rooms and direct messages are named `_…`; every other name is a public room. */
export function isPrivateRoomName(room: string): boolean {
  return room.startsWith('_');
}

/**
 * What the server says of a room (`GET /api/rooms/<room>`): its kind and title, and for a private
 * room or a direct message the members and this person's role. A public room is known without
 * asking. Null until known, and for a room this person may not see (the socket's 4404 says so).
 * `reload` asks again.
 */
export function useRoomInfo(room: string): { readonly info: RoomDetails | null; readonly reload: () => void } {
  const [fetched, setInfo] = useState<RoomDetails | null>(null);
  const [version, setVersion] = useState(0);
  const isPrivate = isPrivateRoomName(room);
  useEffect(() => {
    if (!isPrivate) return;
    let live = true;
    chatApi.room(room).then(
      (details) => {
        if (live && details.room === room) setInfo(details);
      },
      () => {
        // Not a member, no such room, or a server without the route: the page stays a plain room.
      },
    );
    return () => {
      live = false;
    };
  }, [room, isPrivate, version]);
  const reload = useCallback(() => setVersion((previous) => previous + 1), []);
  return { info: isPrivate ? fetched : { room, kind: 'public', title: '' }, reload };
}

import { useCallback, useEffect, useState } from 'react';
import { chatApi, type RoomDetails } from '@/lib/client';

/**
 * What the server says of a room (`GET /api/rooms/<room>`): its kind and title, and for a private
 * room or a direct message the members and this person's role. Null until known, and for a room
 * this person may not see (the socket's 4404 says so). `reload` asks again.
 */
export function useRoomInfo(room: string): { readonly info: RoomDetails | null; readonly reload: () => void } {
  const [info, setInfo] = useState<RoomDetails | null>(null);
  const [version, setVersion] = useState(0);
  useEffect(() => {
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
  }, [room, version]);
  const reload = useCallback(() => setVersion((previous) => previous + 1), []);
  return { info, reload };
}

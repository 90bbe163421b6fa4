import { useCallback, useSyncExternalStore } from 'react';
import { isValidRoomName } from '@/lib/chat/protocol';

const KEY = 'recent-rooms';
const MAX_ROOMS = 8;
const NONE = '[]';

function subscribe(onChange: () => void): () => void {
  window.addEventListener('storage', onChange);
  return () => window.removeEventListener('storage', onChange);
}

function read(): string {
  try {
    return window.localStorage.getItem(KEY) ?? NONE;
  } catch {
    return NONE;
  }
}

function parse(raw: string): string[] {
  try {
    const value: unknown = JSON.parse(raw);
    return Array.isArray(value) ? value.filter((room): room is string => typeof room === 'string' && isValidRoomName(room)) : [];
  } catch {
    return [];
  }
}

/** Rooms this browser visited, most recent first (kept in localStorage). */
export function useRecentRooms(): readonly string[] {
  const raw = useSyncExternalStore(subscribe, read, () => NONE);
  return parse(raw);
}

/** Puts a room at the top of the recent list. */
export function useRememberRoom(): (room: string) => void {
  return useCallback((room: string) => {
    const rooms = [room, ...parse(read()).filter((other) => other !== room)].slice(0, MAX_ROOMS);
    try {
      window.localStorage.setItem(KEY, JSON.stringify(rooms));
      window.dispatchEvent(new StorageEvent('storage', { key: KEY }));
    } catch {
      // Storage full or blocked: the list is a convenience.
    }
  }, []);
}

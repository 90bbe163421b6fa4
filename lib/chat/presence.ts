/**
 * The chat's side of presence, on the framework's: a room's people are tracked in the room's
 * group under their user id, with `{ user: <display name> }` as meta, and the chat sends its
 * own frame, the whole list sorted by name, on join and on every (paced) change.
 */
import type { PresenceEntry, PresenceTracker } from 'next-channels';
import { type RoomParticipants, roomGroup } from './chat-service';
import type { PresenceFrame, PresenceUser } from './protocol';

/** What the chat tracks of a person in a room besides their user id. */
export type ChatPresenceMeta = { readonly user: string };

/** The meta a person is tracked with. */
export function presenceMeta(name: string): ChatPresenceMeta {
  return { user: name };
}

/** One frame per list the framework shares, so the transport serialises it once for every watcher. */
const frames = new WeakMap<readonly PresenceEntry[], PresenceFrame>();

/** The chat's presence frame of a room's entries: one per user id, sorted by name. */
export function presenceFrame(entries: readonly PresenceEntry[]): PresenceFrame {
  let frame = frames.get(entries);
  if (frame === undefined) {
    frame = { type: 'presence', users: presenceUsers(entries) };
    frames.set(entries, frame);
  }
  return frame;
}

/** A room's people as the chat shows them, sorted by name. */
export function presenceUsers(entries: readonly PresenceEntry[]): PresenceUser[] {
  const users: PresenceUser[] = [];
  for (const entry of entries) users.push({ user_id: entry.key, user: typeof entry.meta.user === 'string' ? entry.meta.user : '' });
  return users.sort(byName);
}

/** Who is in a room now, from the presence tracker: whom an @mention may notify. */
export function roomParticipants(presence: PresenceTracker): RoomParticipants {
  return async (room) => presenceUsers((await presence.list(roomGroup(room))).entries);
}

/** Above this many remembered typists, the ones whose interval is over are forgotten. */
const TYPISTS_REMEMBERED = 10_000;

/**
 * Paces typing notices per person and room, across their tabs: one per process, shared by
 * every connection (a person with tabs on two processes may be announced twice as often).
 */
export class TypingPacer {
  readonly #lastTypingAt = new Map<string, number>();

  /** Whether a typing notice from this person may go out now (at most one per `intervalMs`). */
  mayAnnounce(room: string, userId: string, now: number, intervalMs: number): boolean {
    const key = `${room}\n${userId}`;
    const last = this.#lastTypingAt.get(key);
    if (last !== undefined && now - last < intervalMs) return false;
    if (last === undefined && this.#lastTypingAt.size >= TYPISTS_REMEMBERED) {
      for (const [typist, at] of this.#lastTypingAt) if (now - at >= intervalMs) this.#lastTypingAt.delete(typist);
    }
    this.#lastTypingAt.set(key, now);
    return true;
  }
}

const collator = new Intl.Collator();

function byName(a: PresenceUser, b: PresenceUser): number {
  return collator.compare(a.user, b.user) || collator.compare(a.user_id, b.user_id);
}

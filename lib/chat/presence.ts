import type { SessionUser } from '../channels';
import type { PresenceUser } from './protocol';

/**
 * Who is in each room, by user id rather than by connection: two tabs of one person count once,
 * and the person leaves when their last connection does. Also paces typing notices per person.
 */
export interface Presence {
  /** Records a connection; true when the room's list of people changed. */
  join(room: string, user: SessionUser, connection: string): Promise<boolean>;
  /** Forgets a connection; true when the room's list of people changed. */
  leave(room: string, userId: string, connection: string): Promise<boolean>;
  /** The people in a room, by name. */
  list(room: string): Promise<readonly PresenceUser[]>;
  /** Whether a typing notice from this person may go out now (at most one per `intervalMs`). */
  mayAnnounceTyping(room: string, userId: string, now: number, intervalMs: number): boolean;
}

interface Person {
  name: string;
  readonly connections: Set<string>;
  lastTypingAt: number;
}

/** Presence for one process. */
export class LocalPresence implements Presence {
  readonly #rooms = new Map<string, Map<string, Person>>();

  async join(room: string, user: SessionUser, connection: string): Promise<boolean> {
    let people = this.#rooms.get(room);
    if (!people) {
      people = new Map();
      this.#rooms.set(room, people);
    }
    const person = people.get(user.id);
    if (!person) {
      people.set(user.id, { name: user.name, connections: new Set([connection]), lastTypingAt: Number.NEGATIVE_INFINITY });
      return true;
    }
    person.connections.add(connection);
    // The newest connection carries the newest display name.
    if (person.name === user.name) return false;
    person.name = user.name;
    return true;
  }

  async leave(room: string, userId: string, connection: string): Promise<boolean> {
    const people = this.#rooms.get(room);
    const person = people?.get(userId);
    if (!people || !person || !person.connections.delete(connection)) return false;
    if (person.connections.size > 0) return false;
    people.delete(userId);
    if (people.size === 0) this.#rooms.delete(room);
    return true;
  }

  async list(room: string): Promise<readonly PresenceUser[]> {
    const people = this.#rooms.get(room);
    if (!people) return [];
    return [...people]
      .map(([userId, person]) => ({ user_id: userId, user: person.name }))
      .sort((a, b) => a.user.localeCompare(b.user) || a.user_id.localeCompare(b.user_id));
  }

  mayAnnounceTyping(room: string, userId: string, now: number, intervalMs: number): boolean {
    const person = this.#rooms.get(room)?.get(userId);
    if (!person || now - person.lastTypingAt < intervalMs) return false;
    person.lastTypingAt = now;
    return true;
  }
}

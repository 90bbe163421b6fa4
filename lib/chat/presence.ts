import type { SessionUser } from 'next-channels';
import { ChangePacer } from 'next-channels';
import type { PresenceFrame, PresenceUser } from './protocol';

/**
 * A room's list of people at one moment. `version` grows with every list this process works out,
 * so a consumer that hears of lists out of order keeps only the newest.
 */
export interface PresenceSnapshot {
  readonly version: number;
  /** One frame object for every watcher, so the transport serialises it once. */
  readonly frame: PresenceFrame;
}

/** Hears a room's new lists. An object with a method rather than a closure: one per connection adds up. */
export interface PresenceWatcher {
  roomPresenceChanged(snapshot: PresenceSnapshot): void;
}

/**
 * Who is in each room, by user id rather than by connection: two tabs of one person count once,
 * and the person leaves when their last connection does. Watchers of a room hear each new list.
 * Also paces typing notices per person.
 */
export interface Presence {
  join(room: string, user: SessionUser, connection: string): Promise<void>;
  leave(room: string, userId: string, connection: string): Promise<void>;
  /** The room's people now, by name. */
  list(room: string): Promise<PresenceSnapshot>;
  /** Tells `watcher` whenever the room's list changes, until `unwatch`. */
  watch(room: string, watcher: PresenceWatcher): void;
  unwatch(room: string, watcher: PresenceWatcher): void;
  /** Whether a typing notice from this person may go out now (at most one per `intervalMs`). */
  mayAnnounceTyping(room: string, userId: string, now: number, intervalMs: number): boolean;
  close(): Promise<void>;
}

interface Person {
  /** As lists show it; one object for every list the person is in, replaced when the name changes. */
  entry: PresenceUser;
  /** Usually one, kept as it is; an array only for a person with several tabs. */
  connections: string | string[];
  lastTypingAt: number;
}

export interface PresenceOptions {
  /**
   * A room's watchers hear a change at once, then at most one new list per this many
   * milliseconds while changes keep coming (default 500): a room of n people filling up costs
   * a few lists to each, not n. Someone joining always gets the list as it is.
   */
  readonly changeIntervalMs?: number;
}

export const DEFAULT_PRESENCE_CHANGE_INTERVAL_MS = 500;

/**
 * The people connected to this process, per room. On its own it is the presence of a one-process
 * server; `RedisPresence` builds the shared list of several processes on top of it.
 */
export class LocalPresence implements Presence {
  readonly #rooms = new Map<string, Map<string, Person>>();
  readonly #watchers = new Map<string, Set<PresenceWatcher>>();
  readonly #latest = new Map<string, PresenceSnapshot>();
  readonly #pacer: ChangePacer;
  #version = 0;
  #localChanges = 0;
  /** Hears the (paced) changes of a room's local people (RedisPresence publishes them). */
  onLocalChange: ((room: string) => void) | null = null;

  constructor(options: PresenceOptions = {}) {
    this.#pacer = new ChangePacer(options.changeIntervalMs ?? DEFAULT_PRESENCE_CHANGE_INTERVAL_MS, (room) => this.#announce(room));
  }

  async join(room: string, user: SessionUser, connection: string): Promise<void> {
    let people = this.#rooms.get(room);
    if (!people) {
      people = new Map();
      this.#rooms.set(room, people);
    }
    const person = people.get(user.id);
    if (!person) {
      people.set(user.id, { entry: { user_id: user.id, user: user.name }, connections: connection, lastTypingAt: Number.NEGATIVE_INFINITY });
    } else {
      const connections = person.connections;
      if (typeof connections === 'string') {
        if (connections !== connection) person.connections = [connections, connection];
      } else if (!connections.includes(connection)) {
        connections.push(connection);
      }
      // The newest connection carries the newest display name.
      if (person.entry.user === user.name) return;
      person.entry = { user_id: user.id, user: user.name };
    }
    this.#changed(room);
  }

  async leave(room: string, userId: string, connection: string): Promise<void> {
    const people = this.#rooms.get(room);
    const person = people?.get(userId);
    if (!people || !person) return;
    const connections = person.connections;
    if (typeof connections === 'string') {
      if (connections !== connection) return;
    } else {
      const index = connections.indexOf(connection);
      if (index === -1) return;
      connections.splice(index, 1);
      if (connections.length > 0) return;
    }
    people.delete(userId);
    if (people.size === 0) this.#rooms.delete(room);
    this.#changed(room);
  }

  async list(room: string): Promise<PresenceSnapshot> {
    const latest = this.#latest.get(room);
    return latest && !this.#pacer.pending(room) ? latest : this.#snapshot(room);
  }

  /** Whether a change of the room's local people has not been announced yet. */
  changePending(room: string): boolean {
    return this.#pacer.pending(room);
  }

  watch(room: string, watcher: PresenceWatcher): void {
    let watchers = this.#watchers.get(room);
    if (!watchers) {
      watchers = new Set();
      this.#watchers.set(room, watchers);
    }
    watchers.add(watcher);
  }

  unwatch(room: string, watcher: PresenceWatcher): void {
    const watchers = this.#watchers.get(room);
    if (!watchers?.delete(watcher) || watchers.size > 0) return;
    this.#watchers.delete(room);
    this.#latest.delete(room);
  }

  mayAnnounceTyping(room: string, userId: string, now: number, intervalMs: number): boolean {
    const person = this.#rooms.get(room)?.get(userId);
    if (!person || now - person.lastTypingAt < intervalMs) return false;
    person.lastTypingAt = now;
    return true;
  }

  /** The people of a room in this process: user id → display name. */
  localPeople(room: string): Map<string, string> {
    const people = new Map<string, string>();
    for (const [userId, person] of this.#rooms.get(room) ?? []) people.set(userId, person.entry.user);
    return people;
  }

  /** Grows with every change of the people of this process, in any room. */
  get localChanges(): number {
    return this.#localChanges;
  }

  /** Rooms with people in this process. */
  localRooms(): IterableIterator<string> {
    return this.#rooms.keys();
  }

  /** Rooms someone in this process watches. */
  watchedRooms(): IterableIterator<string> {
    return this.#watchers.keys();
  }

  /** Tells a room's watchers its list, if it is newer than the last they heard. */
  publish(room: string, snapshot: PresenceSnapshot): void {
    const latest = this.#latest.get(room);
    if (latest && latest.version >= snapshot.version) return;
    if (latest && sameUsers(latest.frame, snapshot.frame)) return;
    const watchers = this.#watchers.get(room);
    if (!watchers) return;
    this.#latest.set(room, snapshot);
    for (const watcher of watchers) watcher.roomPresenceChanged(snapshot);
  }

  /** A new version number, for a list about to be worked out. */
  nextVersion(): number {
    return ++this.#version;
  }

  async close(): Promise<void> {
    this.#pacer.close();
    this.#watchers.clear();
  }

  #changed(room: string): void {
    this.#localChanges++;
    this.#pacer.changed(room);
  }

  #announce(room: string): void {
    if (this.onLocalChange) this.onLocalChange(room);
    else this.publish(room, this.#snapshot(room));
  }

  #snapshot(room: string): PresenceSnapshot {
    const users: PresenceUser[] = [];
    for (const person of this.#rooms.get(room)?.values() ?? []) users.push(person.entry);
    return { version: this.nextVersion(), frame: { type: 'presence', users: users.sort(byName) } };
  }
}

/** The presence frame of a set of people (user id → name), sorted by name. */
export function presenceFrame(people: ReadonlyMap<string, string>): PresenceFrame {
  const users: PresenceUser[] = [];
  for (const [userId, name] of people) users.push({ user_id: userId, user: name });
  return { type: 'presence', users: users.sort(byName) };
}

const collator = new Intl.Collator();

function byName(a: PresenceUser, b: PresenceUser): number {
  return collator.compare(a.user, b.user) || collator.compare(a.user_id, b.user_id);
}

function sameUsers(a: PresenceFrame, b: PresenceFrame): boolean {
  return a.users.length === b.users.length && a.users.every((user, index) => user.user_id === b.users[index]?.user_id && user.user === b.users[index]?.user);
}

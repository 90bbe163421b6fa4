import { createHash, randomBytes } from 'node:crypto';
import type { Directory, MemberRole, RoomKind } from './store/directory';

/**
 * Who may read and write a room. Rooms whose names do not start with `_` are public: anyone,
 * guests included, and they cost no lookup. Names starting with `_` are the private namespace:
 * private rooms and direct messages (and any older public room of such a name, recorded public
 * by the migration). A person who is not a member of one is told exactly what they are told of
 * a name nobody created, so nobody can learn that a private room exists.
 */

/** A private room's name: `_p` and 128 random bits, unguessable. */
export function newPrivateRoomName(): string {
  return `_p${randomBytes(16).toString('base64url')}`;
}

/** The direct-message room of two people: the same name whoever opens it first. */
export function directRoomName(a: string, b: string): string {
  const [first, second] = a < b ? [a, b] : [b, a];
  return `_d${createHash('sha256').update(`dm\0${first}\0${second}`).digest('base64url').slice(0, 22)}`;
}

/** Whether a room name is in the namespace of private rooms and direct messages. */
export function isPrivateNamespace(room: string): boolean {
  return room.startsWith('_');
}

/** What a person may do in a room: its kind, and their role in it (`null`: public, not a member). */
export interface Access {
  readonly kind: RoomKind;
  readonly role: MemberRole | null;
}

const PUBLIC: Access = Object.freeze({ kind: 'public', role: null });
/** Kinds remembered (a room's kind never changes once it exists). */
const MAX_KINDS_KEPT = 10_000;

/** Answers `access` for a room and a person, from the directory. */
export class RoomAccess {
  readonly #directory: Directory;
  readonly #kinds = new Map<string, RoomKind>();

  constructor(directory: Directory) {
    this.#directory = directory;
  }

  /** The kind of a room, or `null` when it does not exist (a private-namespace name nobody made). */
  async kind(room: string): Promise<RoomKind | null> {
    if (!isPrivateNamespace(room)) return 'public';
    const known = this.#kinds.get(room);
    if (known !== undefined) return known;
    const record = await this.#directory.room(room);
    if (record === null) return null;
    if (this.#kinds.size >= MAX_KINDS_KEPT) this.#kinds.delete(this.#kinds.keys().next().value!);
    this.#kinds.set(room, record.kind);
    return record.kind;
  }

  /**
   * What `userId` may do in `room`: public rooms are everyone's; private rooms and direct
   * messages their members' (read from the store every time: a removal counts at once).
   * `null`: not allowed, which is also the answer for a room that does not exist.
   */
  async check(room: string, userId: string | null): Promise<Access | null> {
    const kind = await this.kind(room);
    if (kind === null) return null;
    if (kind === 'public') return PUBLIC;
    if (userId === null) return null;
    const member = await this.#directory.member(room, userId);
    return member === null || member.role === 'visitor' ? null : { kind, role: member.role };
  }

  /** Of `userIds`, those who may read `room` (mentions and notifications go to them only). */
  async readers(room: string, userIds: readonly string[]): Promise<string[]> {
    const kind = await this.kind(room);
    if (kind === null) return [];
    if (kind === 'public') return [...userIds];
    const allowed: string[] = [];
    for (const userId of userIds) if ((await this.check(room, userId)) !== null) allowed.push(userId);
    return allowed;
  }
}

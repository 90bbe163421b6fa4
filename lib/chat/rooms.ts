import { createHash, randomBytes } from 'node:crypto';
import { type ChannelLayer, KeyedBuckets, type RateLimit } from 'next-channels';
import { type RoomAccess, directRoomName, newPrivateRoomName } from './access';
import { roomGroup } from './chat-service';
import { codePointLength } from './protocol';
import { Refused } from './refused';
import { type Account, type Directory, type InviteRecord, MAX_ROOM_MEMBERS, type MemberRecord, type RoomListEntry, type RoomRecord } from './store/directory';
import { normaliseUsername } from './usernames';

export { MAX_ROOM_MEMBERS } from './store/directory';
export const MAX_ROOM_TITLE_CHARS = 64;
/** How long an invitation link works (7 days), and how many a room may have at once. */
export const INVITE_TTL_MS = 7 * 86_400_000;
export const MAX_INVITES_PER_ROOM = 20;
/** Rooms a person's list shows at most. */
export const ROOM_LIST_LIMIT = 100;

/** The layer event that closes a removed member's sockets in the room, in every process. */
export const MEMBER_REMOVED = 'chat.member_removed';

/** Rooms made and people invited per person (default 30 an hour, 10 at once). */
export const DEFAULT_ROOM_CHANGES: RateLimit = { rate: 30, perMs: 3_600_000, burst: 10 };

/** Room lists read per person: each costs two small reads per room listed (default 1 a second, 10 at once). */
export const DEFAULT_ROOM_LISTS: RateLimit = { rate: 10, perMs: 10_000, burst: 10 };

export interface RoomsOptions {
  readonly directory: Directory;
  readonly access: RoomAccess;
  /** `null` turns the limits off (room changes, and the room list's `DEFAULT_ROOM_LISTS`). */
  readonly changes?: RateLimit | null;
  readonly now?: () => number;
}

/** A line of the room list, as the HTTP API answers it. */
export interface RoomListItem extends RoomListEntry {
  /** The other person of a direct message. */
  readonly peer: { readonly userId: string; readonly name: string } | null;
}

/** What a member sees of a room. */
export interface RoomDetails {
  readonly record: RoomRecord;
  readonly role: MemberRecord['role'] | null;
  /** Members, for private rooms and direct messages; empty for public rooms. */
  readonly members: readonly MemberRecord[];
}

/** A new invitation link: the token is shown once and never stored. */
export interface NewInvite {
  readonly id: string;
  readonly token: string;
  readonly expiresAt: number;
}

/**
 * Private rooms, direct messages, members and invitations. Every call checks who asks: to a
 * person who is not a member, a private room answers exactly as a room that does not exist.
 */
export class Rooms {
  readonly #directory: Directory;
  readonly #access: RoomAccess;
  readonly #now: () => number;
  readonly #changes: KeyedBuckets | null;
  readonly #lists: KeyedBuckets | null;

  constructor(options: RoomsOptions) {
    this.#directory = options.directory;
    this.#access = options.access;
    this.#now = options.now ?? Date.now;
    const changes = options.changes === undefined ? DEFAULT_ROOM_CHANGES : options.changes;
    this.#changes = changes ? new KeyedBuckets(changes, { now: this.#now, maxKeys: 50_000 }) : null;
    this.#lists = changes ? new KeyedBuckets(DEFAULT_ROOM_LISTS, { now: this.#now, maxKeys: 50_000 }) : null;
  }

  /** A person's rooms, most recent first, with the other person of each direct message. */
  async list(userId: string): Promise<readonly RoomListItem[]> {
    if (this.#lists && !this.#lists.take(userId)) {
      throw new Refused(429, 'rate_limited', 'the room list was asked for too often; try again in a moment', Math.ceil(this.#lists.msUntil(userId) / 1000));
    }
    const entries = await this.#directory.roomsOf(userId, ROOM_LIST_LIMIT);
    return Promise.all(
      entries.map(async (entry) => {
        if (entry.kind !== 'direct') return { ...entry, peer: null };
        const other = (await this.#directory.members(entry.room, 2)).find((member) => member.userId !== userId);
        return { ...entry, peer: other ? { userId: other.userId, name: other.name } : null };
      }),
    );
  }

  /** A new private room owned by `owner`, who is its first member. */
  async createPrivate(owner: Account, title: unknown): Promise<RoomRecord> {
    const checked = roomTitle(title);
    this.#spend(owner.userId);
    const record: RoomRecord = { room: newPrivateRoomName(), kind: 'private', title: checked, ownerId: owner.userId, createdAt: this.#now() };
    await this.#directory.createRoom(record, [{ userId: owner.userId, name: owner.username, role: 'owner' }]);
    return record;
  }

  /** The direct-message room of two accounts, made by whichever of them opens it first. */
  async openDirect(self: Account, otherUserId: unknown): Promise<string> {
    if (typeof otherUserId !== 'string' || otherUserId.length > 64) throw new Refused(400, 'invalid', 'user_id must be a user id');
    if (otherUserId === self.userId) throw new Refused(400, 'invalid', 'a direct message needs another person');
    const other = await this.#directory.accountByUserId(otherUserId);
    if (!other) throw new Refused(404, 'unknown_user', 'that person has no account: direct messages are between signed-in people');
    const room = directRoomName(self.userId, other.userId);
    if ((await this.#directory.room(room)) === null) {
      this.#spend(self.userId);
      await this.#directory.createRoom({ room, kind: 'direct', title: '', ownerId: null, createdAt: this.#now() }, [
        { userId: self.userId, name: self.username, role: 'member' },
        { userId: other.userId, name: other.username, role: 'member' },
      ]);
    }
    return room;
  }

  /** What `userId` may see of a room; `null` when they may not see it (or it does not exist). */
  async details(room: string, userId: string): Promise<RoomDetails | null> {
    const access = await this.#access.check(room, userId);
    if (access === null) return null;
    if (access.kind === 'public') return { record: { room, kind: 'public', title: '', ownerId: null, createdAt: 0 }, role: null, members: [] };
    const record = await this.#directory.room(room);
    if (record === null) return null;
    return { record, role: access.role, members: await this.#directory.members(room, MAX_ROOM_MEMBERS) };
  }

  /** The owner adds an account by its user name. Answers the member, and whether they are new. */
  async inviteByUsername(room: string, actor: Account, username: unknown): Promise<{ readonly member: Account; readonly added: boolean }> {
    await this.#owned(room, actor.userId);
    const checked = normaliseUsername(username);
    const invited = checked.ok ? await this.#directory.accountByUsername(checked.key) : null;
    if (!invited) throw new Refused(404, 'unknown_user', 'nobody has that user name');
    this.#spend(actor.userId);
    if ((await this.#directory.memberCount(room)) >= MAX_ROOM_MEMBERS) throw new Refused(409, 'room_full', `a room has at most ${MAX_ROOM_MEMBERS} members`);
    const added = await this.#directory.addMember(room, { userId: invited.userId, name: invited.username, role: 'member' }, this.#now());
    return { member: invited, added };
  }

  /**
   * Removes a member (the owner removing someone, or anyone leaving): their open sockets in the
   * room close at once, in every process, and they can no longer open it.
   */
  async removeMember(room: string, actorId: string, targetId: string, layer: ChannelLayer): Promise<void> {
    const access = await this.#access.check(room, actorId);
    if (access === null || access.kind === 'public') throw notFound();
    if (access.kind === 'direct') throw new Refused(409, 'direct_message', 'nobody leaves a direct message');
    if (targetId === actorId) {
      if (access.role === 'owner') throw new Refused(409, 'owner_cannot_leave', 'the owner cannot leave their room');
    } else if (access.role !== 'owner') {
      throw new Refused(403, 'forbidden', 'only the owner removes members');
    }
    if (!(await this.#directory.removeMember(room, targetId))) throw new Refused(404, 'not_a_member', 'that person is not a member');
    await layer.groupSend(roomGroup(room), { type: MEMBER_REMOVED, user_id: targetId });
  }

  /** A new invitation link to a private room (owner only). */
  async createInvite(room: string, actorId: string): Promise<NewInvite> {
    await this.#owned(room, actorId);
    this.#spend(actorId);
    const now = this.#now();
    if ((await this.#directory.invites(room, now)).length >= MAX_INVITES_PER_ROOM) {
      throw new Refused(409, 'too_many_invites', `a room has at most ${MAX_INVITES_PER_ROOM} invitation links; revoke one first`);
    }
    const token = randomBytes(32).toString('base64url');
    const tokenHash = hashToken(token);
    await this.#directory.createInvite({ tokenHash, room, createdBy: actorId, createdAt: now, expiresAt: now + INVITE_TTL_MS });
    return { id: inviteId(tokenHash), token, expiresAt: now + INVITE_TTL_MS };
  }

  /** A room's working invitation links (owner only). */
  async invites(room: string, actorId: string): Promise<ReadonlyArray<{ readonly id: string; readonly invite: InviteRecord }>> {
    await this.#owned(room, actorId);
    return (await this.#directory.invites(room, this.#now())).map((invite) => ({ id: inviteId(invite.tokenHash), invite }));
  }

  /** Revokes an invitation link by its id (owner only). */
  async revokeInvite(room: string, actorId: string, id: string): Promise<void> {
    const found = (await this.invites(room, actorId)).find((invite) => invite.id === id);
    if (!found || !(await this.#directory.revokeInvite(room, found.invite.tokenHash))) throw new Refused(404, 'not_found', 'no such invitation');
  }

  /** Joins the room of an invitation link; an unknown, expired or revoked link is not found. */
  async acceptInvite(token: string, account: Account): Promise<RoomRecord> {
    if (!/^[A-Za-z0-9_-]{43}$/.test(token)) throw notFound();
    const invite = await this.#directory.invite(hashToken(token), this.#now());
    const record = invite ? await this.#directory.room(invite.room) : null;
    if (!invite || !record) throw notFound();
    if ((await this.#directory.member(record.room, account.userId)) === null) {
      if ((await this.#directory.memberCount(record.room)) >= MAX_ROOM_MEMBERS) throw new Refused(409, 'room_full', `a room has at most ${MAX_ROOM_MEMBERS} members`);
      await this.#directory.addMember(record.room, { userId: account.userId, name: account.username, role: 'member' }, this.#now());
    }
    return record;
  }

  /** What a room's invitation shows before joining: its title. */
  async invitation(token: string): Promise<RoomRecord | null> {
    if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return null;
    const invite = await this.#directory.invite(hashToken(token), this.#now());
    return invite ? this.#directory.room(invite.room) : null;
  }

  async #owned(room: string, actorId: string): Promise<void> {
    const access = await this.#access.check(room, actorId);
    if (access === null || access.kind === 'public') throw notFound();
    if (access.role !== 'owner') throw new Refused(403, 'forbidden', 'only the owner may do this');
  }

  #spend(userId: string): void {
    if (this.#changes && !this.#changes.take(userId)) {
      throw new Refused(429, 'rate_limited', 'too many room changes; try again later', Math.ceil(this.#changes.msUntil(userId) / 1000));
    }
  }
}

/** A private room's title as typed: NFKC, trimmed, 1 to 64 characters, nothing invisible. */
export function roomTitle(input: unknown): string {
  if (typeof input !== 'string' || input.length > MAX_ROOM_TITLE_CHARS * 8) throw new Refused(400, 'invalid_title', `a title is a string of 1 to ${MAX_ROOM_TITLE_CHARS} characters`);
  const title = input.normalize('NFKC').replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu, '').replace(/\s+/gu, ' ').trim();
  if (title === '' || codePointLength(title) > MAX_ROOM_TITLE_CHARS) throw new Refused(400, 'invalid_title', `a title is a string of 1 to ${MAX_ROOM_TITLE_CHARS} characters`);
  return title;
}

function notFound(): Refused {
  return new Refused(404, 'not_found', 'no such room');
}

function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}

/** What lists and revokes an invitation without showing its token: the start of its hash. */
function inviteId(tokenHash: string): string {
  return tokenHash.slice(0, 16);
}

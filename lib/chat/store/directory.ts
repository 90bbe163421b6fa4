import type { StoredMessage } from './types';

/**
 * Who may be where: accounts, the sessions of accounts, rooms that are not plain public ones,
 * their members, invitations and read markers. It lives in the message store's database (every
 * process shares it), beside the messages; each store has one (`MessageStore.directory`).
 */

/** Public: open to everyone, guests included. Private and direct: open to their members only. */
export type RoomKind = 'public' | 'private' | 'direct';

/** Owner and member: of a private room or a direct message. Visitor: a public room someone opened. */
export type MemberRole = 'owner' | 'member' | 'visitor';

/** A person who signed up: the user id they had as a guest, kept, so their history stays theirs. */
export interface Account {
  readonly userId: string;
  /** As chosen (NFKC), shown on invitations. */
  readonly username: string;
  /** `username` case-folded: what is unique, and what sign-in and invitations look up. */
  readonly usernameKey: string;
  /** `scrypt$…` (see passwords.ts): algorithm, parameters, salt and hash. */
  readonly passwordHash: string;
  /** Milliseconds since the epoch. */
  readonly createdAt: number;
}

/** A room with a record: every private room and direct message, and public rooms that had messages before rooms had kinds. */
export interface RoomRecord {
  readonly room: string;
  readonly kind: RoomKind;
  /** What the room list shows: a private room's name as its owner typed it; empty for the others. */
  readonly title: string;
  /** Who created a private room; `null` for the others. */
  readonly ownerId: string | null;
  readonly createdAt: number;
}

/** Someone in a room's member list. */
export interface NewMember {
  readonly userId: string;
  /** The display name when they joined: what member lists show. */
  readonly name: string;
  readonly role: MemberRole;
}

export interface MemberRecord extends NewMember {
  readonly joinedAt: number;
  /** The newest message id they have read in the room; `null` before they read any. */
  readonly lastReadId: string | null;
}

/** A line of a person's room list. */
export interface RoomListEntry {
  readonly room: string;
  readonly kind: RoomKind;
  /** The room's title (`''` for public rooms and direct messages: the page names those). */
  readonly title: string;
  readonly role: MemberRole;
  readonly lastReadId: string | null;
  /** The room's newest message, if any. */
  readonly last: StoredMessage | null;
  /** Messages after `lastReadId` by others, counted up to `MAX_UNREAD_COUNTED`. */
  readonly unread: number;
  /** When they joined or last opened it (ms); the list is ordered by the later of this and the last message's time. */
  readonly activeAt: number;
}

/** An invitation link to a private room. The token itself is never stored, only its SHA-256. */
export interface InviteRecord {
  readonly tokenHash: string;
  readonly room: string;
  readonly createdBy: string;
  readonly createdAt: number;
  readonly expiresAt: number;
}

/** Unread counts stop here: a list shows "99+" past it, and counting costs no more. */
export const MAX_UNREAD_COUNTED = 100;

/** People in one private room at most. */
export const MAX_ROOM_MEMBERS = 500;

/** Public rooms a person visited that their list keeps; older visits are forgotten. */
export const MAX_VISITED_ROOMS = 100;

export type CreateAccountResult = 'created' | 'username_taken' | 'account_exists';

export interface Directory {
  /** Adds an account, unless its `usernameKey` or its `userId` already has one. */
  createAccount(account: Account): Promise<CreateAccountResult>;
  accountByUsername(usernameKey: string): Promise<Account | null>;
  accountByUserId(userId: string): Promise<Account | null>;
  setPasswordHash(userId: string, passwordHash: string): Promise<void>;

  /** Records a session of an account, so all of them can be ended at once (a password change). */
  addAccountSession(userId: string, sessionId: string, expiresAt: number): Promise<void>;
  /** The sessions of an account not yet expired. */
  accountSessions(userId: string): Promise<readonly string[]>;
  removeAccountSession(sessionId: string): Promise<void>;

  /**
   * Creates a room with its first members in one transaction. Answers false, changing nothing,
   * when the room exists (the second person to open a direct message finds it there).
   */
  createRoom(room: RoomRecord, members: readonly NewMember[]): Promise<boolean>;
  room(room: string): Promise<RoomRecord | null>;
  member(room: string, userId: string): Promise<MemberRecord | null>;
  /** The members in the order they joined, at most `limit`. */
  members(room: string, limit: number): Promise<readonly MemberRecord[]>;
  memberCount(room: string): Promise<number>;
  /**
   * Adds a member, `at` as their joining time. Answers false when they are in already: their
   * role is then raised to `member.role` if it is higher (a visitor invited to nothing stays a
   * visitor; roles are visitor < member < owner).
   */
  addMember(room: string, member: NewMember, at: number): Promise<boolean>;
  /** Answers false when they were not a member. */
  removeMember(room: string, userId: string): Promise<boolean>;
  /**
   * Someone opened a public room: it goes to the top of their list, as a visitor unless they are
   * more. Keeps at most `MAX_VISITED_ROOMS` visited rooms per person, forgetting the oldest.
   */
  recordVisit(room: string, userId: string, name: string, at: number): Promise<void>;
  /**
   * Moves a member's read marker forward to `id` (never back); nothing for a non-member.
   * Answers whether it moved.
   */
  markRead(room: string, userId: string, id: string): Promise<boolean>;
  /** A person's rooms, most recently active first (the later of the newest message's time and `activeAt`), at most `limit`. */
  roomsOf(userId: string, limit: number): Promise<readonly RoomListEntry[]>;

  createInvite(invite: InviteRecord): Promise<void>;
  /** The invitation of a token hash, or `null` when there is none or it expired (`now`). */
  invite(tokenHash: string, now: number): Promise<InviteRecord | null>;
  /** A room's invitations not yet expired, newest first. */
  invites(room: string, now: number): Promise<readonly InviteRecord[]>;
  /** Answers false when the room has no such invitation. */
  revokeInvite(room: string, tokenHash: string): Promise<boolean>;
}

const RANK: Readonly<Record<MemberRole, number>> = { visitor: 0, member: 1, owner: 2 };

/** The higher of two roles. */
export function higherRole(a: MemberRole, b: MemberRole): MemberRole {
  return RANK[a] >= RANK[b] ? a : b;
}

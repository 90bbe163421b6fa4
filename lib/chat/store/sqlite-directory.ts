import type Database from 'better-sqlite3';
import {
  type Account,
  type CreateAccountResult,
  type Directory,
  type InviteRecord,
  MAX_UNREAD_COUNTED,
  MAX_VISITED_ROOMS,
  type MemberRecord,
  type MemberRole,
  type NewMember,
  type RoomKind,
  type RoomListEntry,
  type RoomRecord,
} from './directory';
import type { StoredMessage } from './types';

/** `role` ranked as a number, visitor < member < owner, for SQL that keeps the higher role. */
const rank = (role: string): string => `(CASE ${role} WHEN 'owner' THEN 2 WHEN 'member' THEN 1 ELSE 0 END)`;

interface AccountRow {
  user_id: string;
  username: string;
  username_key: string;
  password_hash: string;
  created_at: number;
}

interface RoomRow {
  room: string;
  kind: RoomKind;
  title: string;
  owner_id: string | null;
  created_at: number;
}

interface MemberRow {
  user_id: string;
  name: string;
  role: MemberRole;
  joined_at: number;
  last_read: number | null;
}

interface RoomListRow {
  room: string;
  kind: RoomKind | null;
  title: string | null;
  role: MemberRole;
  last_read: number | null;
  active_at: number;
  unread: number;
  last_id: number | null;
  last_user_id: string | null;
  last_user_name: string | null;
  last_body: string | null;
  last_ts: number | null;
  last_client_id: string | null;
  last_deleted: number | null;
  last_edited_at: number | null;
}

interface InviteRow {
  token_hash: string;
  room: string;
  created_by: string;
  created_at: number;
  expires_at: number;
}

type MemberValues = [room: string, userId: string, name: string, role: MemberRole, joinedAt: number, activeAt: number];

interface PendingVisit {
  readonly room: string;
  readonly userId: string;
  readonly name: string;
  readonly at: number;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

interface PendingRead {
  readonly room: string;
  readonly userId: string;
  readonly id: number;
  readonly resolve: (moved: boolean) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * The directory of `SqliteMessageStore`, in its database file: statements are prepared once,
 * and what must be all or nothing (a room and its members, a visit and the forgetting of old
 * ones) is one transaction.
 */
export class SqliteDirectory implements Directory {
  readonly #now: () => number;
  readonly #insertAccount: Database.Statement<[string, string, string, string, number]>;
  readonly #usernameTaken: Database.Statement<[string], { found: number }>;
  readonly #accountByUsername: Database.Statement<[string], AccountRow>;
  readonly #accountByUserId: Database.Statement<[string], AccountRow>;
  readonly #setPasswordHash: Database.Statement<[string, string]>;
  readonly #addSession: Database.Statement<[string, string, number]>;
  readonly #dropExpiredSessions: Database.Statement<[string, number]>;
  readonly #sessions: Database.Statement<[string, number], { session_id: string }>;
  readonly #removeSession: Database.Statement<[string]>;
  readonly #insertRoom: Database.Statement<[string, RoomKind, string, string | null, number]>;
  readonly #room: Database.Statement<[string], RoomRow>;
  readonly #insertMember: Database.Statement<MemberValues>;
  readonly #raiseRole: Database.Statement<[{ role: MemberRole; room: string; userId: string }]>;
  readonly #member: Database.Statement<[string, string], MemberRow>;
  readonly #members: Database.Statement<[string, number], MemberRow>;
  readonly #memberCount: Database.Statement<[string], { count: number }>;
  readonly #removeMember: Database.Statement<[string, string]>;
  readonly #visit: Database.Statement<MemberValues>;
  readonly #forgetOldVisits: Database.Statement<[{ userId: string; keep: number }]>;
  readonly #markRead: Database.Statement<[{ id: number; room: string; userId: string }]>;
  readonly #roomsOf: Database.Statement<[{ userId: string; limit: number }], RoomListRow>;
  readonly #createInvite: Database.Statement<[string, string, string, number, number]>;
  readonly #invite: Database.Statement<[string, number], InviteRow>;
  readonly #invites: Database.Statement<[string, number], InviteRow>;
  readonly #revokeInvite: Database.Statement<[string, string]>;
  readonly #createAccount: Database.Transaction<(account: Account) => CreateAccountResult>;
  readonly #addMember: Database.Transaction<(room: string, member: NewMember, at: number) => boolean>;
  readonly #createRoom: Database.Transaction<(room: RoomRecord, members: readonly NewMember[]) => boolean>;
  readonly #recordVisits: Database.Transaction<(visits: readonly PendingVisit[]) => void>;
  readonly #markReads: Database.Transaction<(reads: readonly PendingRead[]) => boolean[]>;
  /** Visits waiting for the end of this turn of the event loop, to be written together. */
  #visits: PendingVisit[] = [];
  /** Read markers waiting for the end of this turn of the event loop, to be written together. */
  #reads: PendingRead[] = [];

  /** `db` is migrated already; `now` is the store's clock, which ends account sessions. */
  constructor(db: Database.Database, now: () => number) {
    this.#now = now;
    this.#insertAccount = db.prepare(
      `INSERT INTO accounts (user_id, username, username_key, password_hash, created_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT DO NOTHING`,
    );
    this.#usernameTaken = db.prepare('SELECT EXISTS (SELECT 1 FROM accounts WHERE username_key = ?) AS found');
    this.#accountByUsername = db.prepare('SELECT * FROM accounts WHERE username_key = ?');
    this.#accountByUserId = db.prepare('SELECT * FROM accounts WHERE user_id = ?');
    this.#setPasswordHash = db.prepare('UPDATE accounts SET password_hash = ? WHERE user_id = ?');
    this.#addSession = db.prepare(
      `INSERT INTO account_sessions (user_id, session_id, expires_at) VALUES (?, ?, ?)
       ON CONFLICT (session_id) DO UPDATE SET user_id = excluded.user_id, expires_at = excluded.expires_at`,
    );
    this.#dropExpiredSessions = db.prepare('DELETE FROM account_sessions WHERE user_id = ? AND expires_at <= ?');
    this.#sessions = db.prepare('SELECT session_id FROM account_sessions WHERE user_id = ? AND expires_at > ?');
    this.#removeSession = db.prepare('DELETE FROM account_sessions WHERE session_id = ?');
    this.#insertRoom = db.prepare('INSERT INTO rooms (room, kind, title, owner_id, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING');
    this.#room = db.prepare('SELECT * FROM rooms WHERE room = ?');
    this.#insertMember = db.prepare(
      `INSERT INTO room_members (room, user_id, name, role, joined_at, active_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT DO NOTHING`,
    );
    this.#raiseRole = db.prepare(
      `UPDATE room_members SET role = @role WHERE room = @room AND user_id = @userId AND ${rank('role')} < ${rank('@role')}`,
    );
    this.#member = db.prepare('SELECT * FROM room_members WHERE room = ? AND user_id = ?');
    this.#members = db.prepare('SELECT * FROM room_members WHERE room = ? ORDER BY joined_at, rowid LIMIT ?');
    this.#memberCount = db.prepare('SELECT COUNT(*) AS count FROM room_members WHERE room = ?');
    this.#removeMember = db.prepare('DELETE FROM room_members WHERE room = ? AND user_id = ?');
    this.#visit = db.prepare(
      `INSERT INTO room_members (room, user_id, name, role, joined_at, active_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (room, user_id) DO UPDATE SET active_at = excluded.active_at`,
    );
    this.#forgetOldVisits = db.prepare(
      `DELETE FROM room_members WHERE user_id = @userId AND room IN (
         SELECT room FROM room_members WHERE user_id = @userId AND role = 'visitor'
          ORDER BY active_at DESC, room LIMIT -1 OFFSET @keep)`,
    );
    this.#markRead = db.prepare('UPDATE room_members SET last_read = @id WHERE room = @room AND user_id = @userId AND (last_read IS NULL OR last_read < @id)');
    // The newest rooms first, and only for those the unread count (at most MAX_UNREAD_COUNTED
    // rows, from the messages' primary key).
    this.#roomsOf = db.prepare(
      `SELECT listed.*,
              (SELECT COUNT(*) FROM (
                 SELECT 1 FROM messages unread
                  WHERE unread.room = listed.room AND unread.id > COALESCE(listed.last_read, 0) AND unread.kind = 'message' AND unread.deleted = 0 AND unread.user_id <> @userId
                  LIMIT ${MAX_UNREAD_COUNTED})) AS unread
         FROM (SELECT m.room, r.kind, r.title, m.role, m.last_read, m.active_at,
                      newest.id AS last_id, newest.user_id AS last_user_id, newest.user_name AS last_user_name,
                      newest.body AS last_body, newest.ts AS last_ts, newest.client_id AS last_client_id,
                      newest.deleted AS last_deleted, newest.edited_at AS last_edited_at,
                      MAX(COALESCE(newest.ts, 0), m.active_at) AS sort_at
                 FROM room_members m
                 LEFT JOIN rooms r ON r.room = m.room
                 LEFT JOIN messages newest ON newest.room = m.room AND newest.id = (SELECT MAX(id) FROM messages WHERE room = m.room AND kind = 'message')
                WHERE m.user_id = @userId
                ORDER BY sort_at DESC, m.room
                LIMIT @limit) listed
        ORDER BY listed.sort_at DESC, listed.room`,
    );
    this.#createInvite = db.prepare(
      `INSERT INTO invites (token_hash, room, created_by, created_at, expires_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (token_hash) DO UPDATE SET room = excluded.room, created_by = excluded.created_by,
         created_at = excluded.created_at, expires_at = excluded.expires_at`,
    );
    this.#invite = db.prepare('SELECT * FROM invites WHERE token_hash = ? AND expires_at > ?');
    this.#invites = db.prepare('SELECT * FROM invites WHERE room = ? AND expires_at > ? ORDER BY created_at DESC, token_hash');
    this.#revokeInvite = db.prepare('DELETE FROM invites WHERE room = ? AND token_hash = ?');

    this.#createAccount = db.transaction((account: Account): CreateAccountResult => {
      const { userId, username, usernameKey, passwordHash, createdAt } = account;
      if (this.#insertAccount.run(userId, username, usernameKey, passwordHash, createdAt).changes === 1) return 'created';
      return this.#usernameTaken.get(usernameKey)?.found === 1 ? 'username_taken' : 'account_exists';
    });
    this.#addMember = db.transaction((room: string, member: NewMember, at: number): boolean => {
      if (this.#insertMember.run(room, member.userId, member.name, member.role, at, at).changes === 1) return true;
      this.#raiseRole.run({ role: member.role, room, userId: member.userId });
      return false;
    });
    this.#createRoom = db.transaction((room: RoomRecord, members: readonly NewMember[]): boolean => {
      if (this.#insertRoom.run(room.room, room.kind, room.title, room.ownerId, room.createdAt).changes === 0) return false;
      for (const member of members) this.#addMember(room.room, member, room.createdAt);
      return true;
    });
    this.#recordVisits = db.transaction((visits: readonly PendingVisit[]): void => {
      for (const { room, userId, name, at } of visits) {
        this.#visit.run(room, userId, name, 'visitor', at, at);
        this.#forgetOldVisits.run({ userId, keep: MAX_VISITED_ROOMS });
      }
    });
    this.#markReads = db.transaction((reads: readonly PendingRead[]): boolean[] =>
      reads.map(({ room, userId, id }) => this.#markRead.run({ id, room, userId }).changes > 0),
    );
  }

  async createAccount(account: Account): Promise<CreateAccountResult> {
    return this.#createAccount.immediate(account);
  }

  async accountByUsername(usernameKey: string): Promise<Account | null> {
    const row = this.#accountByUsername.get(usernameKey);
    return row ? accountFromRow(row) : null;
  }

  async accountByUserId(userId: string): Promise<Account | null> {
    const row = this.#accountByUserId.get(userId);
    return row ? accountFromRow(row) : null;
  }

  async setPasswordHash(userId: string, passwordHash: string): Promise<void> {
    this.#setPasswordHash.run(passwordHash, userId);
  }

  /** Also clears out the account's expired sessions, which nothing else would. */
  async addAccountSession(userId: string, sessionId: string, expiresAt: number): Promise<void> {
    this.#addSession.run(userId, sessionId, expiresAt);
    this.#dropExpiredSessions.run(userId, this.#now());
  }

  async accountSessions(userId: string): Promise<readonly string[]> {
    return this.#sessions.all(userId, this.#now()).map((row) => row.session_id);
  }

  async removeAccountSession(sessionId: string): Promise<void> {
    this.#removeSession.run(sessionId);
  }

  async createRoom(room: RoomRecord, members: readonly NewMember[]): Promise<boolean> {
    return this.#createRoom.immediate(room, members);
  }

  async room(room: string): Promise<RoomRecord | null> {
    const row = this.#room.get(room);
    return row ? { room: row.room, kind: row.kind, title: row.title, ownerId: row.owner_id, createdAt: row.created_at } : null;
  }

  async member(room: string, userId: string): Promise<MemberRecord | null> {
    const row = this.#member.get(room, userId);
    return row ? memberFromRow(row) : null;
  }

  async members(room: string, limit: number): Promise<readonly MemberRecord[]> {
    return this.#members.all(room, limit).map(memberFromRow);
  }

  async memberCount(room: string): Promise<number> {
    return this.#memberCount.get(room)?.count ?? 0;
  }

  async addMember(room: string, member: NewMember, at: number): Promise<boolean> {
    return this.#addMember.immediate(room, member, at);
  }

  async removeMember(room: string, userId: string): Promise<boolean> {
    return this.#removeMember.run(room, userId).changes > 0;
  }

  /**
   * The visits of one turn of the event loop are written in one transaction: every page load
   * and reconnect records one, and a commit each cost the connect path more than anything else
   * (a burst of reconnects, 200 µs of a 600 µs connect).
   */
  recordVisit(room: string, userId: string, name: string, at: number): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.#visits.length === 0) setImmediate(this.commitVisits);
      this.#visits.push({ room, userId, name, at, resolve, reject });
    });
  }

  /** Writes the visits waiting now (the store calls it before it closes). */
  readonly commitVisits = (): void => {
    const visits = this.#visits;
    if (visits.length === 0) return;
    this.#visits = [];
    try {
      this.#recordVisits.immediate(visits);
    } catch (error) {
      for (const visit of visits) visit.reject(error);
      return;
    }
    for (const visit of visits) visit.resolve();
  };

  /**
   * The read markers of one turn of the event loop are written in one transaction, as visits
   * are: every client sends one a moment after something new arrives, so they come about as
   * often as deliveries to a room, and a commit of its own each costs far more than its update.
   */
  markRead(room: string, userId: string, id: string): Promise<boolean> {
    return new Promise((resolve, reject) => {
      if (this.#reads.length === 0) setImmediate(this.commitReads);
      this.#reads.push({ room, userId, id: Number(id), resolve, reject });
    });
  }

  /** Writes the read markers waiting now (the store calls it before it closes). */
  readonly commitReads = (): void => {
    const reads = this.#reads;
    if (reads.length === 0) return;
    this.#reads = [];
    let moved: boolean[];
    try {
      moved = this.#markReads.immediate(reads);
    } catch (error) {
      for (const read of reads) read.reject(error);
      return;
    }
    reads.forEach((read, index) => read.resolve(moved[index]!));
  };

  async roomsOf(userId: string, limit: number): Promise<readonly RoomListEntry[]> {
    return this.#roomsOf.all({ userId, limit }).map((row) => ({
      room: row.room,
      kind: row.kind ?? 'public',
      title: row.title ?? '',
      role: row.role,
      lastReadId: row.last_read === null ? null : String(row.last_read),
      last: lastMessage(row),
      unread: row.unread,
      activeAt: row.active_at,
    }));
  }

  async createInvite(invite: InviteRecord): Promise<void> {
    this.#createInvite.run(invite.tokenHash, invite.room, invite.createdBy, invite.createdAt, invite.expiresAt);
  }

  async invite(tokenHash: string, now: number): Promise<InviteRecord | null> {
    const row = this.#invite.get(tokenHash, now);
    return row ? inviteFromRow(row) : null;
  }

  async invites(room: string, now: number): Promise<readonly InviteRecord[]> {
    return this.#invites.all(room, now).map(inviteFromRow);
  }

  async revokeInvite(room: string, tokenHash: string): Promise<boolean> {
    return this.#revokeInvite.run(room, tokenHash).changes > 0;
  }
}

function accountFromRow(row: AccountRow): Account {
  return {
    userId: row.user_id,
    username: row.username,
    usernameKey: row.username_key,
    passwordHash: row.password_hash,
    createdAt: row.created_at,
  };
}

function memberFromRow(row: MemberRow): MemberRecord {
  return {
    userId: row.user_id,
    name: row.name,
    role: row.role,
    joinedAt: row.joined_at,
    lastReadId: row.last_read === null ? null : String(row.last_read),
  };
}

function lastMessage(row: RoomListRow): StoredMessage | null {
  if (row.last_id === null) return null;
  const message = {
    id: String(row.last_id),
    room: row.room,
    userId: row.last_user_id!,
    user: row.last_user_name!,
    text: row.last_body!,
    ts: row.last_ts!,
  };
  const shown = {
    ...message,
    ...(row.last_edited_at === null ? {} : { editedAt: Number(row.last_edited_at) }),
    ...(row.last_deleted === 1 ? { deleted: true as const } : {}),
  };
  return row.last_client_id === null ? shown : { ...shown, clientId: row.last_client_id };
}

function inviteFromRow(row: InviteRow): InviteRecord {
  return { tokenHash: row.token_hash, room: row.room, createdBy: row.created_by, createdAt: row.created_at, expiresAt: row.expires_at };
}

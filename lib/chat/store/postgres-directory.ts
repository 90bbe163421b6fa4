import type pg from 'pg';
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

/**
 * Runs one query through the store: failing at once, with `StoreUnavailable`, while PostgreSQL
 * is away, and noticing when it goes.
 */
export type PostgresQuery = <R extends pg.QueryResultRow>(text: string, values?: unknown[]) => Promise<pg.QueryResult<R>>;

interface AccountRow {
  user_id: string;
  username: string;
  username_key: string;
  password_hash: string;
  created_at: string;
}

interface RoomRow {
  room: string;
  kind: RoomKind;
  title: string;
  owner_id: string | null;
  created_at: string;
}

interface MemberRow {
  user_id: string;
  name: string;
  role: MemberRole;
  joined_at: string;
  last_read: string | null;
}

interface RoomListRow {
  room: string;
  kind: RoomKind | null;
  title: string | null;
  role: MemberRole;
  last_read: string | null;
  active_at: string;
  unread: number;
  last_id: string | null;
  last_user_id: string | null;
  last_user_name: string | null;
  last_body: string | null;
  last_ts: string | null;
  last_client_id: string | null;
  last_deleted: boolean | null;
  last_edited_at: string | null;
}

interface InviteRow {
  token_hash: string;
  room: string;
  created_by: string;
  created_at: string;
  expires_at: string;
}

/**
 * The directory of `PostgresMessageStore`, shared by every process. Calls go through the store's
 * query, so that an outage answers `StoreUnavailable` as its other calls do. What must be all or
 * nothing (a room and its members, a visit and the forgetting of old ones) is one function call.
 * Uniqueness is PostgreSQL's: two processes creating the same account or room at once get one
 * `created` and one refusal.
 */
export class PostgresDirectory implements Directory {
  readonly #query: PostgresQuery;
  readonly #now: () => number;

  /** `now` is the store's clock, which ends account sessions. */
  constructor(query: PostgresQuery, now: () => number) {
    this.#query = query;
    this.#now = now;
  }

  async createAccount(account: Account): Promise<CreateAccountResult> {
    const inserted = await this.#query(
      `INSERT INTO accounts (user_id, username, username_key, password_hash, created_at) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT DO NOTHING`,
      [account.userId, account.username, account.usernameKey, account.passwordHash, account.createdAt],
    );
    if (inserted.rowCount === 1) return 'created';
    // Refused by a unique constraint: which one? A statement of its own, so that it sees the row
    // another process committed while this insert waited for it.
    const taken = await this.#query<{ taken: boolean }>('SELECT EXISTS (SELECT 1 FROM accounts WHERE username_key = $1) AS taken', [
      account.usernameKey,
    ]);
    return taken.rows[0]?.taken ? 'username_taken' : 'account_exists';
  }

  async accountByUsername(usernameKey: string): Promise<Account | null> {
    const result = await this.#query<AccountRow>('SELECT * FROM accounts WHERE username_key = $1', [usernameKey]);
    return result.rows[0] ? accountFromRow(result.rows[0]) : null;
  }

  async accountByUserId(userId: string): Promise<Account | null> {
    const result = await this.#query<AccountRow>('SELECT * FROM accounts WHERE user_id = $1', [userId]);
    return result.rows[0] ? accountFromRow(result.rows[0]) : null;
  }

  async setPasswordHash(userId: string, passwordHash: string): Promise<void> {
    await this.#query('UPDATE accounts SET password_hash = $2 WHERE user_id = $1', [userId, passwordHash]);
  }

  /** Also clears out the account's expired sessions, which nothing else would. */
  async addAccountSession(userId: string, sessionId: string, expiresAt: number): Promise<void> {
    await this.#query(
      `WITH dropped AS (DELETE FROM account_sessions WHERE user_id = $1 AND expires_at <= $4 AND session_id <> $2)
       INSERT INTO account_sessions (user_id, session_id, expires_at) VALUES ($1, $2, $3)
       ON CONFLICT (session_id) DO UPDATE SET user_id = excluded.user_id, expires_at = excluded.expires_at`,
      [userId, sessionId, expiresAt, this.#now()],
    );
  }

  async accountSessions(userId: string): Promise<readonly string[]> {
    const result = await this.#query<{ session_id: string }>('SELECT session_id FROM account_sessions WHERE user_id = $1 AND expires_at > $2', [
      userId,
      this.#now(),
    ]);
    return result.rows.map((row) => row.session_id);
  }

  async removeAccountSession(sessionId: string): Promise<void> {
    await this.#query('DELETE FROM account_sessions WHERE session_id = $1', [sessionId]);
  }

  async createRoom(room: RoomRecord, members: readonly NewMember[]): Promise<boolean> {
    const result = await this.#query<{ created: boolean }>('SELECT chat_create_room($1, $2, $3, $4, $5, $6, $7, $8) AS created', [
      room.room,
      room.kind,
      room.title,
      room.ownerId,
      room.createdAt,
      members.map((member) => member.userId),
      members.map((member) => member.name),
      members.map((member) => member.role),
    ]);
    return result.rows[0]?.created === true;
  }

  async room(room: string): Promise<RoomRecord | null> {
    const result = await this.#query<RoomRow>('SELECT * FROM rooms WHERE room = $1', [room]);
    const row = result.rows[0];
    return row ? { room: row.room, kind: row.kind, title: row.title, ownerId: row.owner_id, createdAt: Number(row.created_at) } : null;
  }

  async member(room: string, userId: string): Promise<MemberRecord | null> {
    const result = await this.#query<MemberRow>('SELECT * FROM room_members WHERE room = $1 AND user_id = $2', [room, userId]);
    return result.rows[0] ? memberFromRow(result.rows[0]) : null;
  }

  async members(room: string, limit: number): Promise<readonly MemberRecord[]> {
    const result = await this.#query<MemberRow>('SELECT * FROM room_members WHERE room = $1 ORDER BY joined_at, seq LIMIT $2', [room, limit]);
    return result.rows.map(memberFromRow);
  }

  async memberCount(room: string): Promise<number> {
    const result = await this.#query<{ count: number }>('SELECT count(*)::integer AS count FROM room_members WHERE room = $1', [room]);
    return result.rows[0]?.count ?? 0;
  }

  async addMember(room: string, member: NewMember, at: number): Promise<boolean> {
    // xmax is 0 on a row this statement inserted, and set on one it updated (locked).
    const result = await this.#query<{ added: boolean }>(
      `INSERT INTO room_members AS m (room, user_id, name, role, joined_at, active_at) VALUES ($1, $2, $3, $4, $5, $5)
       ON CONFLICT (room, user_id) DO UPDATE
         SET role = CASE WHEN chat_role_rank(excluded.role) > chat_role_rank(m.role) THEN excluded.role ELSE m.role END
       RETURNING (m.xmax = 0) AS added`,
      [room, member.userId, member.name, member.role, at],
    );
    return result.rows[0]?.added === true;
  }

  async removeMember(room: string, userId: string): Promise<boolean> {
    const result = await this.#query('DELETE FROM room_members WHERE room = $1 AND user_id = $2', [room, userId]);
    return (result.rowCount ?? 0) > 0;
  }

  async recordVisit(room: string, userId: string, name: string, at: number): Promise<void> {
    await this.#query('SELECT chat_record_visit($1, $2, $3, $4, $5)', [room, userId, name, at, MAX_VISITED_ROOMS]);
  }

  async markRead(room: string, userId: string, id: string): Promise<boolean> {
    const result = await this.#query('UPDATE room_members SET last_read = $3 WHERE room = $1 AND user_id = $2 AND (last_read IS NULL OR last_read < $3)', [
      room,
      userId,
      id,
    ]);
    return (result.rowCount ?? 0) > 0;
  }

  async roomsOf(userId: string, limit: number): Promise<readonly RoomListEntry[]> {
    // The newest rooms first, and only for those the unread count (at most MAX_UNREAD_COUNTED
    // rows, from the messages' primary key).
    const result = await this.#query<RoomListRow>(
      `SELECT listed.*,
              (SELECT count(*)::integer FROM (
                 SELECT 1 FROM messages unread
                  WHERE unread.room = listed.room AND unread.id > COALESCE(listed.last_read, 0) AND unread.kind = 'message' AND NOT unread.deleted AND unread.user_id <> $1
                  LIMIT ${MAX_UNREAD_COUNTED}) counted) AS unread
         FROM (SELECT m.room, r.kind, r.title, m.role, m.last_read, m.active_at,
                      newest.id AS last_id, newest.user_id AS last_user_id, newest.user_name AS last_user_name,
                      newest.body AS last_body, newest.ts AS last_ts, newest.client_id AS last_client_id,
                      newest.deleted AS last_deleted, newest.edited_at AS last_edited_at,
                      GREATEST(COALESCE(newest.ts, 0), m.active_at) AS sort_at
                 FROM room_members m
                 LEFT JOIN rooms r ON r.room = m.room
                 LEFT JOIN LATERAL (SELECT * FROM messages WHERE room = m.room AND kind = 'message' ORDER BY id DESC LIMIT 1) newest ON true
                WHERE m.user_id = $1
                ORDER BY sort_at DESC, m.room
                LIMIT $2) listed
        ORDER BY listed.sort_at DESC, listed.room`,
      [userId, limit],
    );
    return result.rows.map((row) => ({
      room: row.room,
      kind: row.kind ?? 'public',
      title: row.title ?? '',
      role: row.role,
      lastReadId: row.last_read,
      last: lastMessage(row),
      unread: row.unread,
      activeAt: Number(row.active_at),
    }));
  }

  async createInvite(invite: InviteRecord): Promise<void> {
    await this.#query(
      `INSERT INTO invites (token_hash, room, created_by, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (token_hash) DO UPDATE SET room = excluded.room, created_by = excluded.created_by,
         created_at = excluded.created_at, expires_at = excluded.expires_at`,
      [invite.tokenHash, invite.room, invite.createdBy, invite.createdAt, invite.expiresAt],
    );
  }

  async invite(tokenHash: string, now: number): Promise<InviteRecord | null> {
    const result = await this.#query<InviteRow>('SELECT * FROM invites WHERE token_hash = $1 AND expires_at > $2', [tokenHash, now]);
    return result.rows[0] ? inviteFromRow(result.rows[0]) : null;
  }

  async invites(room: string, now: number): Promise<readonly InviteRecord[]> {
    const result = await this.#query<InviteRow>('SELECT * FROM invites WHERE room = $1 AND expires_at > $2 ORDER BY created_at DESC, token_hash', [
      room,
      now,
    ]);
    return result.rows.map(inviteFromRow);
  }

  async revokeInvite(room: string, tokenHash: string): Promise<boolean> {
    const result = await this.#query('DELETE FROM invites WHERE room = $1 AND token_hash = $2', [room, tokenHash]);
    return (result.rowCount ?? 0) > 0;
  }
}

function accountFromRow(row: AccountRow): Account {
  return {
    userId: row.user_id,
    username: row.username,
    usernameKey: row.username_key,
    passwordHash: row.password_hash,
    createdAt: Number(row.created_at),
  };
}

function memberFromRow(row: MemberRow): MemberRecord {
  return { userId: row.user_id, name: row.name, role: row.role, joinedAt: Number(row.joined_at), lastReadId: row.last_read };
}

function lastMessage(row: RoomListRow): StoredMessage | null {
  if (row.last_id === null) return null;
  const message = {
    id: row.last_id,
    room: row.room,
    userId: row.last_user_id!,
    user: row.last_user_name!,
    text: row.last_body!,
    ts: Number(row.last_ts),
  };
  const shown = {
    ...message,
    ...(row.last_edited_at === null ? {} : { editedAt: Number(row.last_edited_at) }),
    ...(row.last_deleted === true ? { deleted: true as const } : {}),
  };
  return row.last_client_id === null ? shown : { ...shown, clientId: row.last_client_id };
}

function inviteFromRow(row: InviteRow): InviteRecord {
  return {
    tokenHash: row.token_hash,
    room: row.room,
    createdBy: row.created_by,
    createdAt: Number(row.created_at),
    expiresAt: Number(row.expires_at),
  };
}

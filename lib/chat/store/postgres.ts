import pg from 'pg';
import {
  type Flushable,
  FlushPacer,
  type Logger,
  Reachability,
  silentLogger,
} from 'next-channels';
import { connectionConfig, isUnreachable, type PostgresTimeouts } from './postgres-connection';
import { PostgresDirectory } from './postgres-directory';
import { HeadsConnection } from './postgres-heads';
import { APPEND_AND_INDEX, APPEND_BATCH_AND_INDEX, EVENT_AND_INDEX, indexExistingMessages, SEARCH_MIGRATION, searchQuery, tsvectorLiteral } from './postgres-search';
import { aggregateReactions, quoteOf } from './events';
import {
  type DeleteInput,
  type EditInput,
  type EventRefusal,
  type EventResult,
  type HeadListener,
  type LogEntry,
  MAX_EMOJI_PER_MESSAGE,
  type MessagePage,
  type MessageStore,
  type NewMessage,
  type SearchHit,
  type SearchOptions,
  type ReactInput,
  type StoredEvent,
  type StoredMessage,
  StoreUnavailable,
} from './types';

/**
 * Schema migrations, applied in order and recorded in `schema_migrations`. Append only. Exported
 * for the tests that build a database of an earlier version.
 */
export const MIGRATIONS: readonly string[] = [
  `CREATE TABLE messages (
     room      text   NOT NULL,
     id        bigint NOT NULL,
     user_id   text   NOT NULL,
     user_name text   NOT NULL,
     body      text   NOT NULL,
     ts        bigint NOT NULL,
     client_id text,
     PRIMARY KEY (room, id)
   );
   CREATE UNIQUE INDEX messages_idempotency ON messages (room, user_id, client_id) WHERE client_id IS NOT NULL;
   CREATE TABLE room_counters (
     room    text   PRIMARY KEY,
     last_id bigint NOT NULL
   );`,
  // An append in one round trip rather than five (BEGIN, counter, earlier, insert, COMMIT): a
  // function runs in its call's transaction, and each of its statements sees what others have
  // committed by then, so the semantics are those of the transaction it replaces.
  `CREATE FUNCTION chat_append(p_room text, p_user_id text, p_user_name text, p_body text, p_ts bigint, p_client_id text)
   RETURNS TABLE (o_id bigint, o_user_name text, o_body text, o_ts bigint, o_created boolean)
   LANGUAGE plpgsql AS $$
   DECLARE
     last bigint;
   BEGIN
     -- Takes the room counter's row lock until the call's end, without moving it yet: appends
     -- to one room take turns, across processes.
     INSERT INTO room_counters AS c (room, last_id) VALUES (p_room, 0)
       ON CONFLICT (room) DO UPDATE SET last_id = c.last_id
       RETURNING c.last_id INTO last;
     IF p_client_id IS NOT NULL THEN
       RETURN QUERY SELECT m.id, m.user_name, m.body, m.ts, false FROM messages m
         WHERE m.room = p_room AND m.user_id = p_user_id AND m.client_id = p_client_id;
       IF FOUND THEN RETURN; END IF;
     END IF;
     UPDATE room_counters SET last_id = last + 1 WHERE room = p_room;
     INSERT INTO messages (room, id, user_id, user_name, body, ts, client_id)
       VALUES (p_room, last + 1, p_user_id, p_user_name, p_body, p_ts, p_client_id);
     RETURN QUERY SELECT last + 1, p_user_name, p_body, p_ts, true;
   END
   $$;`,
  // The appends of one flush in one call: chat_append for each, in order, in one transaction.
  // The caller orders them by room, so concurrent batches take the room counters' locks in the
  // same order and cannot deadlock.
  `CREATE FUNCTION chat_append_batch(p_rooms text[], p_user_ids text[], p_user_names text[], p_bodies text[], p_ts bigint[], p_client_ids text[])
   RETURNS TABLE (o_index integer, o_id bigint, o_user_name text, o_body text, o_ts bigint, o_created boolean)
   LANGUAGE plpgsql AS $$
   BEGIN
     FOR i IN 1 .. coalesce(array_length(p_rooms, 1), 0) LOOP
       RETURN QUERY SELECT i, a.* FROM chat_append(p_rooms[i], p_user_ids[i], p_user_names[i], p_bodies[i], p_ts[i], p_client_ids[i]) a;
     END LOOP;
   END
   $$;`,
  // Ended sessions (signed out, revoked), until every cookie of theirs has expired anyway.
  `CREATE TABLE revoked_sessions (
     id         text   PRIMARY KEY,
     expires_at bigint NOT NULL
   );
   CREATE INDEX revoked_sessions_expiry ON revoked_sessions (expires_at);`,
  // Every append also tells the processes listening on 'chat_heads' the room's new newest id, as
  // PostgreSQL commits it: a process learns of a message even when its sender died between the
  // commit and sending it on (see PostgresMessageStore.watchHeads).
  `CREATE OR REPLACE FUNCTION chat_append(p_room text, p_user_id text, p_user_name text, p_body text, p_ts bigint, p_client_id text)
   RETURNS TABLE (o_id bigint, o_user_name text, o_body text, o_ts bigint, o_created boolean)
   LANGUAGE plpgsql AS $$
   DECLARE
     last bigint;
   BEGIN
     INSERT INTO room_counters AS c (room, last_id) VALUES (p_room, 0)
       ON CONFLICT (room) DO UPDATE SET last_id = c.last_id
       RETURNING c.last_id INTO last;
     IF p_client_id IS NOT NULL THEN
       RETURN QUERY SELECT m.id, m.user_name, m.body, m.ts, false FROM messages m
         WHERE m.room = p_room AND m.user_id = p_user_id AND m.client_id = p_client_id;
       IF FOUND THEN RETURN; END IF;
     END IF;
     UPDATE room_counters SET last_id = last + 1 WHERE room = p_room;
     INSERT INTO messages (room, id, user_id, user_name, body, ts, client_id)
       VALUES (p_room, last + 1, p_user_id, p_user_name, p_body, p_ts, p_client_id);
     PERFORM pg_notify('chat_heads', p_room || ':' || (last + 1));
     RETURN QUERY SELECT last + 1, p_user_name, p_body, p_ts, true;
   END
   $$;`,
  // The directory (see PostgresDirectory): accounts and their sessions, rooms with a kind, members,
  // invitations. Rooms that had messages before rooms had kinds are recorded as public, so they
  // stay open to everyone whatever their name. seq orders the members who joined at the same
  // moment. A room and its first members, and a visit with the forgetting of the oldest ones, are
  // each one function call: one transaction, one round trip.
  `CREATE TABLE accounts (
     user_id       text   PRIMARY KEY,
     username      text   NOT NULL,
     username_key  text   NOT NULL UNIQUE,
     password_hash text   NOT NULL,
     created_at    bigint NOT NULL
   );
   CREATE TABLE account_sessions (
     session_id text   PRIMARY KEY,
     user_id    text   NOT NULL,
     expires_at bigint NOT NULL
   );
   CREATE INDEX account_sessions_user ON account_sessions (user_id);
   CREATE TABLE rooms (
     room       text   PRIMARY KEY,
     kind       text   NOT NULL CHECK (kind IN ('public', 'private', 'direct')),
     title      text   NOT NULL,
     owner_id   text,
     created_at bigint NOT NULL
   );
   CREATE TABLE room_members (
     room      text   NOT NULL,
     user_id   text   NOT NULL,
     name      text   NOT NULL,
     role      text   NOT NULL CHECK (role IN ('owner', 'member', 'visitor')),
     joined_at bigint NOT NULL,
     active_at bigint NOT NULL,
     last_read bigint,
     seq       bigint GENERATED ALWAYS AS IDENTITY,
     PRIMARY KEY (room, user_id)
   );
   CREATE INDEX room_members_join_order ON room_members (room, joined_at, seq);
   CREATE INDEX room_members_by_user ON room_members (user_id, active_at);
   CREATE TABLE invites (
     token_hash text   PRIMARY KEY,
     room       text   NOT NULL,
     created_by text   NOT NULL,
     created_at bigint NOT NULL,
     expires_at bigint NOT NULL
   );
   CREATE INDEX invites_room ON invites (room);
   INSERT INTO rooms (room, kind, title, owner_id, created_at)
     SELECT c.room, 'public', '', NULL, oldest.ts FROM room_counters c
      CROSS JOIN LATERAL (SELECT ts FROM messages WHERE room = c.room ORDER BY id LIMIT 1) oldest;
   CREATE FUNCTION chat_role_rank(p_role text) RETURNS integer
   LANGUAGE sql IMMUTABLE AS $$
     SELECT CASE p_role WHEN 'owner' THEN 2 WHEN 'member' THEN 1 ELSE 0 END
   $$;
   CREATE FUNCTION chat_create_room(p_room text, p_kind text, p_title text, p_owner_id text, p_created_at bigint,
                                    p_user_ids text[], p_names text[], p_roles text[])
   RETURNS boolean
   LANGUAGE plpgsql AS $$
   BEGIN
     INSERT INTO rooms (room, kind, title, owner_id, created_at) VALUES (p_room, p_kind, p_title, p_owner_id, p_created_at)
       ON CONFLICT (room) DO NOTHING;
     IF NOT FOUND THEN RETURN false; END IF;
     FOR i IN 1 .. coalesce(array_length(p_user_ids, 1), 0) LOOP
       INSERT INTO room_members AS m (room, user_id, name, role, joined_at, active_at)
         VALUES (p_room, p_user_ids[i], p_names[i], p_roles[i], p_created_at, p_created_at)
         ON CONFLICT (room, user_id) DO UPDATE
           SET role = CASE WHEN chat_role_rank(excluded.role) > chat_role_rank(m.role) THEN excluded.role ELSE m.role END;
     END LOOP;
     RETURN true;
   END
   $$;
   CREATE FUNCTION chat_record_visit(p_room text, p_user_id text, p_name text, p_at bigint, p_keep integer)
   RETURNS void
   LANGUAGE plpgsql AS $$
   BEGIN
     -- A person's visits take turns (two tabs, two processes): none keeps more than p_keep rooms,
     -- and two never deadlock forgetting the same ones.
     PERFORM pg_advisory_xact_lock(7242026, hashtext(p_user_id));
     INSERT INTO room_members (room, user_id, name, role, joined_at, active_at) VALUES (p_room, p_user_id, p_name, 'visitor', p_at, p_at)
       ON CONFLICT (room, user_id) DO UPDATE SET active_at = excluded.active_at;
     DELETE FROM room_members WHERE user_id = p_user_id AND room IN (
       SELECT room FROM room_members WHERE user_id = p_user_id AND role = 'visitor'
        ORDER BY active_at DESC, room OFFSET p_keep);
   END
   $$;`,
  // Edits, deletions and reactions are rows of the log too, with the room's next id: every row
  // there is now a message (kind 'message', the default). A message row holds its current state
  // (text after the last edit, edited_at, deleted); reactions holds who reacted with what.
  // chat_append_reply is chat_append with the message a reply answers; chat_event stores an
  // edit, a deletion or a reaction in one call, checking it under the room counter's lock.
  `ALTER TABLE messages
     ADD COLUMN kind text NOT NULL DEFAULT 'message' CHECK (kind IN ('message', 'edit', 'delete', 'reaction')),
     ADD COLUMN target bigint,
     ADD COLUMN reply_to bigint,
     ADD COLUMN edited_at bigint,
     ADD COLUMN deleted boolean NOT NULL DEFAULT false,
     ADD COLUMN emoji text,
     ADD COLUMN reaction_on boolean,
     ADD COLUMN reaction_count integer;
   CREATE INDEX messages_by_target ON messages (room, target) WHERE target IS NOT NULL;
   CREATE TABLE reactions (
     room       text   NOT NULL,
     message_id bigint NOT NULL,
     emoji      text   NOT NULL,
     user_id    text   NOT NULL,
     seq        bigint NOT NULL,
     PRIMARY KEY (room, message_id, emoji, user_id)
   );
   CREATE FUNCTION chat_append_reply(p_room text, p_user_id text, p_user_name text, p_body text, p_ts bigint, p_client_id text, p_reply_to bigint)
   RETURNS TABLE (o_id bigint, o_user_name text, o_body text, o_ts bigint, o_created boolean)
   LANGUAGE plpgsql AS $$
   DECLARE
     last bigint;
   BEGIN
     INSERT INTO room_counters AS c (room, last_id) VALUES (p_room, 0)
       ON CONFLICT (room) DO UPDATE SET last_id = c.last_id
       RETURNING c.last_id INTO last;
     IF p_client_id IS NOT NULL THEN
       RETURN QUERY SELECT m.id, m.user_name, m.body, m.ts, false FROM messages m
         WHERE m.room = p_room AND m.user_id = p_user_id AND m.client_id = p_client_id;
       IF FOUND THEN RETURN; END IF;
     END IF;
     UPDATE room_counters SET last_id = last + 1 WHERE room = p_room;
     INSERT INTO messages (room, id, user_id, user_name, body, ts, client_id, reply_to)
       VALUES (p_room, last + 1, p_user_id, p_user_name, p_body, p_ts, p_client_id, p_reply_to);
     PERFORM pg_notify('chat_heads', p_room || ':' || (last + 1));
     RETURN QUERY SELECT last + 1, p_user_name, p_body, p_ts, true;
   END
   $$;
   CREATE FUNCTION chat_append_reply_batch(p_rooms text[], p_user_ids text[], p_user_names text[], p_bodies text[], p_ts bigint[], p_client_ids text[], p_reply_tos bigint[])
   RETURNS TABLE (o_index integer, o_id bigint, o_user_name text, o_body text, o_ts bigint, o_created boolean)
   LANGUAGE plpgsql AS $$
   BEGIN
     FOR i IN 1 .. coalesce(array_length(p_rooms, 1), 0) LOOP
       RETURN QUERY SELECT i, a.* FROM chat_append_reply(p_rooms[i], p_user_ids[i], p_user_names[i], p_bodies[i], p_ts[i], p_client_ids[i], p_reply_tos[i]) a;
     END LOOP;
   END
   $$;
   CREATE FUNCTION chat_event(p_room text, p_kind text, p_user_id text, p_user_name text, p_target bigint, p_text text, p_ts bigint,
                              p_editable_since bigint, p_as_author boolean, p_emoji text, p_on boolean, p_max_emoji integer)
   RETURNS TABLE (o_reason text, o_id bigint, o_on boolean, o_count integer)
   LANGUAGE plpgsql AS $$
   DECLARE
     last bigint;
     t messages%ROWTYPE;
     had boolean;
     turn_on boolean;
     n integer;
   BEGIN
     -- The room counter's lock first, as an append takes it: events and appends of a room take turns.
     INSERT INTO room_counters AS c (room, last_id) VALUES (p_room, 0)
       ON CONFLICT (room) DO UPDATE SET last_id = c.last_id
       RETURNING c.last_id INTO last;
     SELECT * INTO t FROM messages WHERE room = p_room AND id = p_target AND kind = 'message';
     IF NOT FOUND THEN RETURN QUERY SELECT 'not_found'::text, NULL::bigint, NULL::boolean, NULL::integer; RETURN; END IF;
     IF t.deleted THEN RETURN QUERY SELECT 'deleted'::text, NULL::bigint, NULL::boolean, NULL::integer; RETURN; END IF;
     IF p_kind = 'edit' THEN
       IF t.user_id <> p_user_id THEN RETURN QUERY SELECT 'forbidden'::text, NULL::bigint, NULL::boolean, NULL::integer; RETURN; END IF;
       IF t.ts < p_editable_since THEN RETURN QUERY SELECT 'too_late'::text, NULL::bigint, NULL::boolean, NULL::integer; RETURN; END IF;
       UPDATE messages SET body = p_text, edited_at = p_ts WHERE room = p_room AND id = p_target;
     ELSIF p_kind = 'delete' THEN
       IF p_as_author AND t.user_id <> p_user_id THEN RETURN QUERY SELECT 'forbidden'::text, NULL::bigint, NULL::boolean, NULL::integer; RETURN; END IF;
       UPDATE messages SET body = '', deleted = true WHERE room = p_room AND id = p_target;
       UPDATE messages SET body = '' WHERE room = p_room AND target = p_target AND kind = 'edit';
       DELETE FROM reactions WHERE room = p_room AND message_id = p_target;
     ELSE
       had := EXISTS (SELECT 1 FROM reactions WHERE room = p_room AND message_id = p_target AND emoji = p_emoji AND user_id = p_user_id);
       turn_on := coalesce(p_on, NOT had);
       IF turn_on = had THEN RETURN QUERY SELECT 'unchanged'::text, NULL::bigint, NULL::boolean, NULL::integer; RETURN; END IF;
       IF turn_on THEN
         IF NOT EXISTS (SELECT 1 FROM reactions WHERE room = p_room AND message_id = p_target AND emoji = p_emoji)
            AND (SELECT count(DISTINCT emoji) FROM reactions WHERE room = p_room AND message_id = p_target) >= p_max_emoji THEN
           RETURN QUERY SELECT 'too_many_reactions'::text, NULL::bigint, NULL::boolean, NULL::integer; RETURN;
         END IF;
         INSERT INTO reactions (room, message_id, emoji, user_id, seq) VALUES (p_room, p_target, p_emoji, p_user_id, last + 1);
       ELSE
         DELETE FROM reactions WHERE room = p_room AND message_id = p_target AND emoji = p_emoji AND user_id = p_user_id;
       END IF;
       SELECT count(*) INTO n FROM reactions WHERE room = p_room AND message_id = p_target AND emoji = p_emoji;
     END IF;
     UPDATE room_counters SET last_id = last + 1 WHERE room = p_room;
     INSERT INTO messages (room, id, user_id, user_name, body, ts, kind, target, emoji, reaction_on, reaction_count)
       VALUES (p_room, last + 1, p_user_id, p_user_name, CASE WHEN p_kind = 'edit' THEN p_text ELSE '' END, p_ts, p_kind, p_target,
               p_emoji, turn_on, n);
     PERFORM pg_notify('chat_heads', p_room || ':' || (last + 1));
     RETURN QUERY SELECT NULL::text, last + 1, turn_on, n;
   END
   $$;`,
  // Search (see postgres-search.ts): a tsvector of every message's tokens; `migrate` indexes the
  // existing messages in the same transaction.
  SEARCH_MIGRATION,
];

/** Migrations followed, in their transaction, by work their SQL cannot do alone. */
const AFTER_MIGRATION: ReadonlyMap<string, (client: pg.PoolClient) => Promise<void>> = new Map([[SEARCH_MIGRATION, indexExistingMessages]]);

/** Appends in one call at most; more wait for the next. */
const MAX_BATCH = 256;

interface Appended {
  readonly message: StoredMessage;
  readonly created: boolean;
}

interface PendingAppend {
  readonly input: NewMessage;
  /** When the message was accepted (its `ts`), not when its batch left. */
  readonly ts: number;
  readonly resolve: (appended: Appended) => void;
  readonly reject: (error: unknown) => void;
}

interface AppendRow {
  o_id: string;
  o_user_name: string;
  o_body: string;
  o_ts: string;
  o_created: boolean;
}

/** Any fixed number: the advisory lock that keeps two starting processes from migrating at once. */
const MIGRATION_LOCK = 7_242_025;

interface Row {
  room: string;
  id: string;
  user_id: string;
  user_name: string;
  body: string;
  ts: string;
  client_id: string | null;
  kind: 'message' | StoredEvent['kind'];
  target: string | null;
  edited_at: string | null;
  deleted: boolean;
  emoji: string | null;
  reaction_on: boolean | null;
  reaction_count: number | null;
  /** The parent of a reply, as it is now. */
  p_id: string | null;
  p_user_id: string | null;
  p_user_name: string | null;
  p_body: string | null;
  p_deleted: boolean | null;
  /** One entry per person and emoji, in the order they were put on; null when none. */
  reacted: { emoji: string; user_id: string }[] | null;
}

/** A message row with what is shown of it: its parent's quote and its reactions. */
const HYDRATED = `m.*, p.id AS p_id, p.user_id AS p_user_id, p.user_name AS p_user_name, p.body AS p_body, p.deleted AS p_deleted,
  (SELECT json_agg(json_build_object('emoji', r.emoji, 'user_id', r.user_id) ORDER BY r.seq)
     FROM reactions r WHERE m.kind = 'message' AND r.room = m.room AND r.message_id = m.id) AS reacted`;
const PARENT = 'LEFT JOIN messages p ON p.room = m.room AND p.id = m.reply_to';

export interface PostgresMessageStoreOptions extends PostgresTimeouts {
  readonly now?: () => number;
  /** Connections in the pool (default 10). */
  readonly poolSize?: number;
  /**
   * Once PostgreSQL is found unreachable, calls fail at once, and it is asked again this often
   * (default 1 s) until it answers.
   */
  readonly probeMs?: number;
  /** The connection that hears the rooms' newest ids runs `SELECT 1` this often (default 2 s), to notice a silent partition. */
  readonly listenHeartbeatMs?: number;
  /** Where losing and finding PostgreSQL again is logged, once each. */
  readonly logger?: Logger;
  /** The process's write pacer (the `SocketServer`'s): batches go out in its flushes (default: a new one). */
  readonly pacer?: FlushPacer;
}

export { StoreUnavailable };

/**
 * Messages in PostgreSQL, shared by every server process. Each room has a counter row; `append`
 * takes that row's lock for its transaction, so ids increase without gaps within a room, commit
 * in id order across processes, and a repeated `client_id` from another process finds the first
 * message rather than racing it. When PostgreSQL is away, calls fail fast and nothing is half
 * written; the pool reconnects by itself when it is back.
 *
 * Appends are a group commit: they wait for the process's next paced flush (the one that writes
 * the client sockets, see `FlushPacer`) and go as one call, one batch at a time, in the order they
 * were made. A store a network round trip away then costs a process one write and one wake-up
 * per flush rather than per message; a batch that fails fails every append in it.
 */
export class PostgresMessageStore implements MessageStore, Flushable {
  #pool: pg.Pool;
  readonly #url: string;
  readonly #options: PostgresMessageStoreOptions;
  readonly #now: () => number;
  readonly #reachability: Reachability;
  readonly #pacer: FlushPacer;
  /** Appends waiting for the next batch, in the order they were made. */
  #waiting: PendingAppend[] = [];
  #batchInFlight: Promise<void> | null = null;
  #probe: NodeJS.Timeout | null = null;
  #heads: HeadsConnection | null = null;
  #closed = false;

  readonly directory: PostgresDirectory;

  private constructor(pool: pg.Pool, url: string, options: PostgresMessageStoreOptions) {
    this.#pool = pool;
    this.#url = url;
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#reachability = new Reachability('postgres', options.logger ?? silentLogger);
    this.#pacer = options.pacer ?? new FlushPacer();
    this.directory = new PostgresDirectory((text, values) => this.#query(text, values), this.#now);
  }

  /** Connects and migrates; rejects with one clear line when the database cannot be reached. */
  static async connect(url: string, options: PostgresMessageStoreOptions = {}): Promise<PostgresMessageStore> {
    const pool = newPool(url, options);
    try {
      await migrate(pool);
    } catch (error) {
      await pool.end();
      throw new Error(`cannot use PostgreSQL at ${redactUrl(url)}: ${error instanceof Error ? error.message : String(error)}`);
    }
    return new PostgresMessageStore(pool, url, options);
  }

  /** Whether PostgreSQL answered lately (false from a failed call until a probe succeeds). */
  get reachable(): boolean {
    return this.#reachability.up;
  }

  /** Resolves once PostgreSQL is reachable (at once unless an outage is under way). */
  whenReachable(): Promise<void> {
    return this.#reachability.whenUp();
  }

  /**
   * Runs one query, failing at once while PostgreSQL is known unreachable. A failure that says
   * PostgreSQL cannot be reached (a timeout, a broken connection; not an error in the query)
   * starts the outage: logged once, and a probe runs until PostgreSQL answers again.
   */
  async #query<R extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<pg.QueryResult<R>> {
    if (!this.#reachability.up) throw new StoreUnavailable('PostgreSQL is unreachable');
    const pool = this.#pool;
    try {
      return await pool.query<R>(text, values);
    } catch (error) {
      if (isUnreachable(error)) {
        // A query stranded on a pool that a recovery has since replaced tells of the outage
        // already over, not of a new one.
        if (pool === this.#pool) this.#lost(error);
        throw new StoreUnavailable(`PostgreSQL is unreachable: ${error instanceof Error ? error.message : String(error)}`);
      }
      throw error;
    }
  }

  #lost(error: unknown): void {
    if (this.#closed) return;
    this.#reachability.lost(error);
    if (this.#probe !== null) return;
    let probing = false;
    this.#probe = setInterval(() => {
      if (probing) return;
      probing = true;
      probeOnce(this.#url, this.#options).then(
        () => {
          probing = false;
          if (this.#probe === null || this.#closed) return;
          clearInterval(this.#probe);
          this.#probe = null;
          // The pool's connections may be ones the outage left dead (a silent partition leaves
          // them open, waiting on TCP's retransmissions): new calls go to a new pool.
          const stale = this.#pool;
          this.#pool = newPool(this.#url, this.#options);
          stale.end().catch(() => {});
          this.#reachability.back();
          // Commits heard of by nobody meanwhile: the head watchers ask again.
          this.#heads?.missed();
        },
        () => {
          // Still away: the next probe asks again.
          probing = false;
        },
      );
    }, this.#options.probeMs ?? 1_000);
    this.#probe.unref();
  }

  append(input: NewMessage): Promise<{ message: StoredMessage; created: boolean }> {
    const appending = new Promise<Appended>((resolve, reject) => {
      this.#waiting.push({ input, ts: this.#now(), resolve, reject });
      if (this.#waiting.length === 1 && this.#batchInFlight === null) this.#pacer.flushSoon(this);
    });
    if (input.replyTo === undefined) return appending;
    // A reply is read back once stored, with the quote of its parent as it is then.
    return appending.then(async (result) => ({ created: result.created, message: (await this.message(input.room, result.message.id)) ?? result.message }));
  }

  async edit(input: EditInput): Promise<EventResult> {
    return this.#event(input, 'edit', { text: input.text, editableSince: input.editableSince });
  }

  async remove(input: DeleteInput): Promise<EventResult> {
    return this.#event(input, 'delete', { asAuthor: input.as === 'author' });
  }

  async react(input: ReactInput): Promise<EventResult> {
    return this.#event(input, 'reaction', { emoji: input.emoji, ...(input.on === undefined ? {} : { on: input.on }) });
  }

  /** One edit, deletion or reaction: checked and stored by `chat_event`, in one round trip. */
  async #event(
    input: { room: string; userId: string; user: string; target: string },
    kind: StoredEvent['kind'],
    fields: { text?: string; editableSince?: number; asAuthor?: boolean; emoji?: string; on?: boolean },
  ): Promise<EventResult> {
    if (!/^[1-9][0-9]{0,18}$/.test(input.target) || BigInt(input.target) > 9_223_372_036_854_775_807n) return { ok: false, reason: 'not_found' };
    const ts = this.#now();
    const editableSince = fields.editableSince === undefined ? null : Number.isFinite(fields.editableSince) ? Math.floor(fields.editableSince) : Number.MAX_SAFE_INTEGER;
    const result = await this.#query<{ o_reason: EventRefusal | null; o_id: string | null; o_on: boolean | null; o_count: number | null }>(EVENT_AND_INDEX, [
      input.room,
      kind,
      input.userId,
      input.user,
      input.target,
      fields.text ?? null,
      ts,
      editableSince,
      fields.asAuthor ?? false,
      fields.emoji ?? null,
      fields.on ?? null,
      MAX_EMOJI_PER_MESSAGE,
      kind === 'edit' ? tsvectorLiteral(fields.text ?? '') : null,
    ]);
    const row = result.rows[0]!;
    if (row.o_reason !== null) return { ok: false, reason: row.o_reason };
    const event: StoredEvent = { kind, id: row.o_id!, room: input.room, target: input.target, userId: input.userId, user: input.user, ts };
    if (kind === 'edit') return { ok: true, event: { ...event, text: fields.text ?? '' } };
    if (kind === 'reaction') return { ok: true, event: { ...event, emoji: fields.emoji ?? '', on: row.o_on ?? false, count: row.o_count ?? 0 } };
    return { ok: true, event };
  }

  async message(room: string, id: string): Promise<StoredMessage | null> {
    if (!/^[1-9][0-9]{0,18}$/.test(id) || BigInt(id) > 9_223_372_036_854_775_807n) return null;
    const result = await this.#query<Row>(`SELECT ${HYDRATED} FROM messages m ${PARENT} WHERE m.room = $1 AND m.id = $2 AND m.kind = 'message'`, [room, id]);
    const row = result.rows[0];
    return row === undefined ? null : messageOf(row);
  }

  /** Sends what waits as one batch, unless one is already on its way (then after it); answers how many appends went. */
  flush(): number {
    if (this.#batchInFlight !== null || this.#waiting.length === 0) return 0;
    const batch = this.#waiting.splice(0, MAX_BATCH);
    this.#batchInFlight = this.#send(batch).finally(() => {
      this.#batchInFlight = null;
      // What came in meanwhile has waited a round trip already: it goes at once.
      this.flush();
    });
    return batch.length;
  }

  async #send(batch: readonly PendingAppend[]): Promise<void> {
    try {
      const results = batch.length === 1 ? [await this.#appendOne(batch[0]!)] : await this.#appendMany(batch);
      batch.forEach((pending, index) => pending.resolve(results[index]!));
    } catch (error) {
      for (const pending of batch) pending.reject(error);
    }
  }

  async #appendOne({ input, ts }: PendingAppend): Promise<Appended> {
    const result = await this.#query<AppendRow>(APPEND_AND_INDEX, [
      input.room,
      input.userId,
      input.user,
      input.text,
      ts,
      input.clientId ?? null,
      input.replyTo ?? null,
      tsvectorLiteral(input.text),
    ]);
    return appended(input, result.rows[0]!);
  }

  /** Rooms in name order (their order within a room kept), so batches lock counters in one order. */
  async #appendMany(batch: readonly PendingAppend[]): Promise<Appended[]> {
    const order = batch.map((_, index) => index).sort((a, b) => compareText(batch[a]!.input.room, batch[b]!.input.room) || a - b);
    const column = <T>(pick: (pending: PendingAppend) => T): T[] => order.map((index) => pick(batch[index]!));
    const result = await this.#query<AppendRow & { o_index: number }>(APPEND_BATCH_AND_INDEX, [
      column((pending) => pending.input.room),
      column((pending) => pending.input.userId),
      column((pending) => pending.input.user),
      column((pending) => pending.input.text),
      column((pending) => pending.ts),
      column((pending) => pending.input.clientId ?? null),
      column((pending) => pending.input.replyTo ?? null),
      column((pending) => tsvectorLiteral(pending.input.text)),
    ]);
    const results: Appended[] = new Array(batch.length);
    for (const row of result.rows) {
      const index = order[row.o_index - 1]!;
      results[index] = appended(batch[index]!.input, row);
    }
    return results;
  }

  async latest(room: string, limit: number): Promise<MessagePage> {
    // One statement, one snapshot: the head read is the one the page reflects.
    const result = await this.#query<Row & { head: string | null }>(
      `SELECT ${HYDRATED}, (SELECT last_id FROM room_counters WHERE room = $1) AS head
         FROM messages m ${PARENT} WHERE m.room = $1 AND m.kind = 'message' ORDER BY m.id DESC LIMIT $2`,
      [room, limit + 1],
    );
    const head = result.rows[0]?.head;
    const found = page(result.rows, limit);
    return head ? { ...found, head } : found;
  }

  async before(room: string, id: string, limit: number): Promise<MessagePage> {
    const result = await this.#query<Row>(
      `SELECT ${HYDRATED} FROM messages m ${PARENT} WHERE m.room = $1 AND m.kind = 'message' AND m.id < $2 ORDER BY m.id DESC LIMIT $3`,
      [room, id, limit + 1],
    );
    return page(result.rows, limit);
  }

  async after(room: string, id: string, limit: number): Promise<readonly LogEntry[] | null> {
    const result = await this.#query<Row & { newest: string | null }>(
      `SELECT e.*, c.last_id AS newest
         FROM (SELECT last_id FROM room_counters WHERE room = $1) c
         LEFT JOIN LATERAL (SELECT ${HYDRATED} FROM messages m ${PARENT} WHERE m.room = $1 AND m.id > $2 ORDER BY m.id LIMIT $3) e ON true`,
      [room, id, limit],
    );
    const newest = result.rows[0]?.newest ?? '0';
    if (BigInt(id) > BigInt(newest)) return null;
    return result.rows.filter((row) => row.id !== null).map((row) => (row.kind === 'message' ? messageOf(row) : eventOf(row)));
  }

  async search(rooms: readonly string[], query: string, options: SearchOptions): Promise<SearchHit[]> {
    const search = searchQuery(rooms, query, options, { columns: HYDRATED, join: PARENT });
    if (search === null) return [];
    const result = await this.#query<Row>(search.text, search.values);
    return result.rows.map((row) => ({ room: row.room, message: messageOf(row) }));
  }

  async revokeSession(id: string, expiresAt: number): Promise<void> {
    // Revocations are rare: clearing out the expired ones as each comes keeps the table small.
    await this.#query(
      `WITH dropped AS (DELETE FROM revoked_sessions WHERE expires_at <= $3 AND id <> $1)
       INSERT INTO revoked_sessions (id, expires_at) VALUES ($1, $2)
       ON CONFLICT (id) DO UPDATE SET expires_at = GREATEST(revoked_sessions.expires_at, excluded.expires_at)`,
      [id, expiresAt, this.#now()],
    );
  }

  async isSessionRevoked(id: string): Promise<boolean> {
    const result = await this.#query('SELECT 1 FROM revoked_sessions WHERE id = $1 AND expires_at > $2', [id, this.#now()]);
    return result.rowCount !== null && result.rowCount > 0;
  }

  async heads(rooms: readonly string[]): Promise<ReadonlyMap<string, string>> {
    const heads = new Map<string, string>();
    if (rooms.length === 0) return heads;
    const result = await this.#query<{ room: string; last_id: string }>('SELECT room, last_id FROM room_counters WHERE room = ANY($1) AND last_id > 0', [rooms]);
    for (const row of result.rows) heads.set(row.room, row.last_id);
    return heads;
  }

  /**
   * Listens for the rooms' newest ids on a connection of its own (LISTEN chat_heads): PostgreSQL
   * sends each as it commits the message, whoever committed it. The connection is watched with a
   * `SELECT 1` every `listenHeartbeatMs`; when it breaks it is made again, and `missed` is called
   * so that the listener asks for the heads it may not have heard.
   */
  watchHeads(listener: HeadListener): () => void {
    if (this.#heads === null) this.#heads = new HeadsConnection(this.#url, this.#options);
    return this.#heads.add(listener);
  }

  async ping(): Promise<void> {
    await this.#query('SELECT 1');
  }

  /** Stores what is waiting, then closes. */
  async close(): Promise<void> {
    while (this.#waiting.length > 0 || this.#batchInFlight !== null) {
      this.flush();
      await this.#batchInFlight;
    }
    this.#closed = true;
    if (this.#probe !== null) clearInterval(this.#probe);
    this.#probe = null;
    await this.#heads?.close();
    await this.#pool.end();
  }
}

function newPool(url: string, options: PostgresMessageStoreOptions): pg.Pool {
  const pool = new pg.Pool(connectionConfig(url, options, options.poolSize ?? 10));
  // A pooled connection that broke while idle is replaced by the pool; the next call finds out.
  pool.on('error', () => {});
  return pool;
}

/** One `SELECT 1` on a connection of its own (never a pooled one the outage may have left dead). */
async function probeOnce(url: string, timeouts: PostgresTimeouts): Promise<void> {
  const client = new pg.Client(connectionConfig(url, timeouts, 1));
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
  } finally {
    client.end().catch(() => {});
  }
}

async function migrate(pool: pg.Pool): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())');
    const applied = await client.query<{ version: number }>('SELECT COALESCE(MAX(version), 0) AS version FROM schema_migrations');
    const version = applied.rows[0]?.version ?? 0;
    if (version > MIGRATIONS.length) {
      throw new Error(`the database has schema version ${version}, newer than this server knows (${MIGRATIONS.length}): upgrade the server`);
    }
    for (let index = version; index < MIGRATIONS.length; index++) {
      await client.query('BEGIN');
      await client.query(MIGRATIONS[index]!);
      await AFTER_MIGRATION.get(MIGRATIONS[index]!)?.(client);
      await client.query('INSERT INTO schema_migrations (version) VALUES ($1)', [index + 1]);
      await client.query('COMMIT');
    }
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => {});
    client.release();
  }
}

function appended(input: NewMessage, row: AppendRow): Appended {
  const message: StoredMessage = {
    id: row.o_id,
    room: input.room,
    userId: input.userId,
    user: row.o_user_name,
    text: row.o_body,
    ts: Number(row.o_ts),
    ...(input.clientId === undefined ? {} : { clientId: input.clientId }),
  };
  return { message, created: row.o_created };
}

/** Plain code-unit order, the same in every process (no locale). */
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Rows newest first, one more than `limit` when older ones exist → a page oldest first. */
function page(rows: Row[], limit: number): MessagePage {
  return { messages: rows.slice(0, limit).reverse().map(messageOf), hasMore: rows.length > limit };
}

/** A hydrated message row in its current state, with its parent's quote and its reactions. */
function messageOf(row: Row): StoredMessage {
  const message = fromRow(row);
  const parent =
    row.p_id === null || row.p_user_id === null || row.p_user_name === null
      ? null
      : quoteOf({ id: row.p_id, userId: row.p_user_id, user: row.p_user_name, text: row.p_body ?? '', ...(row.p_deleted ? { deleted: true } : {}) });
  return {
    ...message,
    ...(parent === null ? {} : { replyTo: parent }),
    ...(row.edited_at === null ? {} : { editedAt: Number(row.edited_at) }),
    ...(row.deleted ? { deleted: true } : {}),
    ...(row.reacted === null ? {} : { reactions: aggregateReactions(row.reacted.map((r) => ({ emoji: r.emoji, userId: r.user_id }))) }),
  };
}

function eventOf(row: Row): StoredEvent {
  const event: StoredEvent = {
    kind: row.kind as StoredEvent['kind'],
    id: row.id,
    room: row.room,
    target: row.target ?? '0',
    userId: row.user_id,
    user: row.user_name,
    ts: Number(row.ts),
  };
  if (row.kind === 'edit') return { ...event, text: row.body };
  if (row.kind === 'reaction') return { ...event, emoji: row.emoji ?? '', on: row.reaction_on ?? false, count: row.reaction_count ?? 0 };
  return event;
}

function fromRow(row: Row): StoredMessage {
  const message = {
    id: row.id,
    room: row.room,
    userId: row.user_id,
    user: row.user_name,
    text: row.body,
    ts: Number(row.ts),
  };
  return row.client_id === null ? message : { ...message, clientId: row.client_id };
}

function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}

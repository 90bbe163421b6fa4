import { closeSync, mkdirSync, openSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { SqliteCheckpointer } from './sqlite-checkpointer';
import { SqliteDirectory } from './sqlite-directory';
import { openSqlite } from './sqlite-driver';
import { CONTENTLESS_SEARCH_MIGRATION, registerSearchFunctions, SEARCH_BACKLOG_MIGRATION, SEARCH_MIGRATION, SEARCH_QUEUE_MIGRATION, SqliteSearchIndex } from './sqlite-search';
import { aggregateReactions, quoteOf } from './events';
import {
  type DeleteInput,
  type EditInput,
  type EventResult,
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
} from './types';

/**
 * Schema migrations, applied in order; `PRAGMA user_version` records how many have run. Append
 * only: a released migration is never edited. Exported for the tests that build a database of
 * an earlier version.
 */
export const MIGRATIONS: readonly string[] = [
  `CREATE TABLE messages (
     room      TEXT    NOT NULL,
     id        INTEGER NOT NULL,
     user_id   TEXT    NOT NULL,
     user_name TEXT    NOT NULL,
     body      TEXT    NOT NULL,
     ts        INTEGER NOT NULL,
     client_id TEXT,
     PRIMARY KEY (room, id)
   ) WITHOUT ROWID;
   CREATE UNIQUE INDEX messages_idempotency ON messages (room, user_id, client_id) WHERE client_id IS NOT NULL;`,
  // Ended sessions (signed out, revoked), until every cookie of theirs has expired anyway.
  `CREATE TABLE revoked_sessions (
     id         TEXT    PRIMARY KEY,
     expires_at INTEGER NOT NULL
   ) WITHOUT ROWID;
   CREATE INDEX revoked_sessions_expiry ON revoked_sessions (expires_at);`,
  // The directory (see SqliteDirectory): accounts and their sessions, rooms with a kind, members,
  // invitations. Rooms that had messages before rooms had kinds are recorded as public, so they
  // stay open to everyone whatever their name. Members keep their rowid: it orders those who
  // joined at the same moment.
  `CREATE TABLE accounts (
     user_id       TEXT    PRIMARY KEY,
     username      TEXT    NOT NULL,
     username_key  TEXT    NOT NULL UNIQUE,
     password_hash TEXT    NOT NULL,
     created_at    INTEGER NOT NULL
   ) WITHOUT ROWID;
   CREATE TABLE account_sessions (
     session_id TEXT    PRIMARY KEY,
     user_id    TEXT    NOT NULL,
     expires_at INTEGER NOT NULL
   ) WITHOUT ROWID;
   CREATE INDEX account_sessions_user ON account_sessions (user_id);
   CREATE TABLE rooms (
     room       TEXT    PRIMARY KEY,
     kind       TEXT    NOT NULL CHECK (kind IN ('public', 'private', 'direct')),
     title      TEXT    NOT NULL,
     owner_id   TEXT,
     created_at INTEGER NOT NULL
   ) WITHOUT ROWID;
   CREATE TABLE room_members (
     room      TEXT    NOT NULL,
     user_id   TEXT    NOT NULL,
     name      TEXT    NOT NULL,
     role      TEXT    NOT NULL CHECK (role IN ('owner', 'member', 'visitor')),
     joined_at INTEGER NOT NULL,
     active_at INTEGER NOT NULL,
     last_read INTEGER,
     PRIMARY KEY (room, user_id)
   );
   CREATE INDEX room_members_join_order ON room_members (room, joined_at);
   CREATE INDEX room_members_by_user ON room_members (user_id, active_at);
   CREATE TABLE invites (
     token_hash TEXT    PRIMARY KEY,
     room       TEXT    NOT NULL,
     created_by TEXT    NOT NULL,
     created_at INTEGER NOT NULL,
     expires_at INTEGER NOT NULL
   ) WITHOUT ROWID;
   CREATE INDEX invites_room ON invites (room);
   INSERT INTO rooms (room, kind, title, owner_id, created_at)
     SELECT first.room, 'public', '', NULL, first.ts FROM messages first
      WHERE first.id = (SELECT MIN(id) FROM messages WHERE room = first.room);`,
  // Edits, deletions and reactions are rows of the log too, with the room's next id: every row
  // there is now a message (kind 'message', the default). A message row holds its current state
  // (text after the last edit, edited_at, deleted); reactions holds who reacted with what.
  `ALTER TABLE messages ADD COLUMN kind TEXT NOT NULL DEFAULT 'message' CHECK (kind IN ('message', 'edit', 'delete', 'reaction'));
   ALTER TABLE messages ADD COLUMN target INTEGER;
   ALTER TABLE messages ADD COLUMN reply_to INTEGER;
   ALTER TABLE messages ADD COLUMN edited_at INTEGER;
   ALTER TABLE messages ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE messages ADD COLUMN emoji TEXT;
   ALTER TABLE messages ADD COLUMN reaction_on INTEGER;
   ALTER TABLE messages ADD COLUMN reaction_count INTEGER;
   UPDATE messages SET kind = 'message';
   CREATE INDEX messages_by_target ON messages (room, target) WHERE target IS NOT NULL;
   CREATE TABLE reactions (
     room       TEXT    NOT NULL,
     message_id INTEGER NOT NULL,
     emoji      TEXT    NOT NULL,
     user_id    TEXT    NOT NULL,
     seq        INTEGER NOT NULL,
     PRIMARY KEY (room, message_id, emoji, user_id)
   ) WITHOUT ROWID;`,
  // Search: an FTS5 index of every message's tokens (see sqlite-search.ts), existing ones included.
  SEARCH_MIGRATION,
  // New messages are indexed a moment after their commit, many at once (see sqlite-search.ts).
  SEARCH_BACKLOG_MIGRATION,
  // The index keeps no copy of the tokens (see sqlite-search.ts), rebuilt from the messages.
  CONTENTLESS_SEARCH_MIGRATION,
  // The queue of messages to index in the order they were stored (see sqlite-search.ts).
  SEARCH_QUEUE_MIGRATION,
];

/**
 * Creates `file` empty with mode 0600 (and its missing folders 0700) unless it exists. SQLite
 * would create it 0644, and gives its -wal and -shm files the mode of the database file: made
 * here first, all three are private.
 */
function createPrivately(file: string): void {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  try {
    closeSync(openSync(file, 'wx', 0o600));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
}

interface Row {
  room: string;
  id: number;
  user_id: string;
  user_name: string;
  body: string;
  ts: number;
  client_id: string | null;
  kind: 'message' | 'edit' | 'delete' | 'reaction';
  target: number | null;
  reply_to: number | null;
  edited_at: number | null;
  deleted: number;
  emoji: string | null;
  reaction_on: number | null;
  reaction_count: number | null;
}

type Appended = { message: StoredMessage; created: boolean };

interface PendingAppend {
  readonly input: NewMessage;
  readonly resolve: (appended: Appended) => void;
  readonly reject: (error: unknown) => void;
}

export interface SqliteMessageStoreOptions {
  readonly now?: () => number;
  /** How soon after a commit the log is checkpointed into the database file, off the main thread (default 1 s). */
  readonly checkpointIntervalMs?: number;
  /**
   * How soon after a commit its new messages are added to the search index, many in one
   * transaction (default 100 ms). A search, an edit or a deletion indexes what waits first, so
   * search never misses a stored message.
   */
  readonly searchIndexDelayMs?: number;
  /** The log's length, in pages, past which the checkpointer starts it over (default 16,384: 64 MiB). */
  readonly logRestartFrames?: number;
  /**
   * The least time between two commits of appends (default 1 ms): an append to a store that has
   * not committed for this long commits at the end of its turn; otherwise it waits for the rest
   * of this time, and commits with every append that came meanwhile. 0 commits every turn.
   */
  readonly groupCommitMs?: number;
}

/** How many waiting messages one turn of the event loop adds to the search index, at most. */
const INDEX_CHUNK = 256;

/**
 * Messages in one SQLite file (WAL mode), for a single server process. better-sqlite3 is
 * synchronous: each call finishes its transaction before it returns, so a message is on disk
 * (in the write-ahead log, which survives a crash of the process) when `append` resolves.
 */
export class SqliteMessageStore implements MessageStore {
  readonly #db: Database.Database;
  readonly #now: () => number;
  readonly #findByClientId: Database.Statement<[string, string, string], Row>;
  readonly #newestId: Database.Statement<[string], { id: number | null }>;
  readonly #insert: Database.Statement<[string, number, string, string, string, number, string | null, number | null]>;
  readonly #insertEvent: Database.Statement<EventRow>;
  readonly #messageRow: Database.Statement<[string, number], Row>;
  readonly #setText: Database.Statement<[string, number, string, number]>;
  readonly #wipe: Database.Statement<[string, number]>;
  readonly #wipeEdits: Database.Statement<[string, number]>;
  readonly #dropReactions: Database.Statement<[string, number]>;
  readonly #hasReaction: Database.Statement<[string, number, string, string], { found: number }>;
  readonly #emojiOn: Database.Statement<[string, number], { emoji: string }>;
  readonly #addReaction: Database.Statement<[string, number, string, string, number]>;
  readonly #removeReaction: Database.Statement<[string, number, string, string]>;
  readonly #reactionCount: Database.Statement<[string, number, string], { count: number }>;
  readonly #reactionsBetween: Database.Statement<[string, number, number], { message_id: number; emoji: string; user_id: string }>;
  readonly #changeTx: Database.Transaction<(change: () => EventResult) => EventResult>;
  readonly #latest: Database.Statement<[string, number], Row>;
  readonly #before: Database.Statement<[string, number, number], Row>;
  readonly #after: Database.Statement<[string, number, number], Row>;
  readonly #hasBefore: Database.Statement<[string, number], { found: number }>;
  readonly #revoke: Database.Statement<[string, number]>;
  readonly #dropExpiredRevocations: Database.Statement<[number]>;
  readonly #isRevoked: Database.Statement<[string, number], { found: number }>;
  readonly #append: Database.Transaction<(input: NewMessage) => Appended>;
  readonly #appendAll: Database.Transaction<(inputs: readonly NewMessage[]) => Appended[]>;
  readonly #checkpointer: SqliteCheckpointer | null = null;
  readonly #searchIndex: SqliteSearchIndex;
  /** Only this process writes the file, so what it appends is all there is to know. */
  readonly #recent = new RecentPages();
  /** The newest id of the rooms written lately; forgotten whenever a transaction fails. */
  readonly #heads = new NewestIds();
  /** Appends waiting for the end of this turn of the event loop, to be committed together. */
  #batch: PendingAppend[] = [];
  /** The checkpointer is starting the log over: appends and indexing wait for it. */
  #held = false;
  readonly #groupCommitMs: number;
  /** When the last commit of appends ended (`performance.now()`). */
  #lastCommitAt = -Infinity;
  readonly #searchIndexDelayMs: number;
  /** The next turn of indexing new messages, when one is planned. */
  #indexing: { readonly cancel: () => void } | null = null;

  readonly directory: SqliteDirectory;

  /**
   * Opens (creating it and its folder if needed) and migrates the database at `file`. A new
   * database is readable by this user only (0600, its folder 0700), like the session secret.
   */
  constructor(file: string, options: SqliteMessageStoreOptions = {}) {
    if (file !== ':memory:') createPrivately(file);
    this.#db = openSqlite(file);
    this.#now = options.now ?? Date.now;
    this.#searchIndexDelayMs = options.searchIndexDelayMs ?? 100;
    this.#groupCommitMs = options.groupCommitMs ?? 1;
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('synchronous = NORMAL');
    this.#db.pragma('busy_timeout = 5000');
    // A deleted message's text is overwritten where it lay, not only unlinked.
    this.#db.pragma('secure_delete = ON');
    registerSearchFunctions(this.#db);
    migrate(this.#db, file);
    if (file !== ':memory:') {
      this.#db.pragma('wal_autocheckpoint = 0');
      this.#checkpointer = new SqliteCheckpointer(file, {
        intervalMs: options.checkpointIntervalMs ?? 1_000,
        ...(options.logRestartFrames === undefined ? {} : { restartFrames: options.logRestartFrames }),
        failed: () => {
          if (this.#db.open) this.#db.pragma('wal_autocheckpoint = 1000');
        },
        // Appends and indexing wait while the log starts over (some 10 ms); other writes are
        // rarer and wait on SQLite's lock if they come.
        pause: () => {
          this.#held = true;
        },
        resume: () => {
          this.#held = false;
          if (this.#batch.length > 0) setImmediate(this.#commitUnlessHeld);
          this.#indexSoon(0);
        },
      });
    }

    this.directory = new SqliteDirectory(this.#db, this.#now);
    this.#searchIndex = new SqliteSearchIndex(this.#db);
    // What a crash left unindexed.
    this.#indexSoon(this.#searchIndexDelayMs);
    this.#findByClientId = this.#db.prepare('SELECT * FROM messages WHERE room = ? AND user_id = ? AND client_id = ?');
    this.#newestId = this.#db.prepare('SELECT MAX(id) AS id FROM messages WHERE room = ?');
    this.#insert = this.#db.prepare(
      'INSERT INTO messages (room, id, user_id, user_name, body, ts, client_id, reply_to) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.#insertEvent = this.#db.prepare(
      `INSERT INTO messages (room, id, user_id, user_name, body, ts, kind, target, emoji, reaction_on, reaction_count)
       VALUES (@room, @id, @userId, @user, @body, @ts, @kind, @target, @emoji, @on, @count)`,
    );
    this.#messageRow = this.#db.prepare("SELECT * FROM messages WHERE room = ? AND id = ? AND kind = 'message'");
    this.#setText = this.#db.prepare('UPDATE messages SET body = ?, edited_at = ? WHERE room = ? AND id = ?');
    this.#wipe = this.#db.prepare("UPDATE messages SET body = '', deleted = 1 WHERE room = ? AND id = ?");
    this.#wipeEdits = this.#db.prepare("UPDATE messages SET body = '' WHERE room = ? AND target = ? AND kind = 'edit'");
    this.#dropReactions = this.#db.prepare('DELETE FROM reactions WHERE room = ? AND message_id = ?');
    this.#hasReaction = this.#db.prepare(
      'SELECT EXISTS (SELECT 1 FROM reactions WHERE room = ? AND message_id = ? AND emoji = ? AND user_id = ?) AS found',
    );
    this.#emojiOn = this.#db.prepare('SELECT DISTINCT emoji FROM reactions WHERE room = ? AND message_id = ?');
    this.#addReaction = this.#db.prepare('INSERT INTO reactions (room, message_id, emoji, user_id, seq) VALUES (?, ?, ?, ?, ?)');
    this.#removeReaction = this.#db.prepare('DELETE FROM reactions WHERE room = ? AND message_id = ? AND emoji = ? AND user_id = ?');
    this.#reactionCount = this.#db.prepare('SELECT COUNT(*) AS count FROM reactions WHERE room = ? AND message_id = ? AND emoji = ?');
    this.#reactionsBetween = this.#db.prepare(
      'SELECT message_id, emoji, user_id FROM reactions WHERE room = ? AND message_id BETWEEN ? AND ? ORDER BY message_id, seq',
    );
    this.#changeTx = this.#db.transaction((change: () => EventResult) => change());
    this.#latest = this.#db.prepare("SELECT * FROM messages WHERE room = ? AND kind = 'message' ORDER BY id DESC LIMIT ?");
    this.#before = this.#db.prepare("SELECT * FROM messages WHERE room = ? AND kind = 'message' AND id < ? ORDER BY id DESC LIMIT ?");
    this.#after = this.#db.prepare('SELECT * FROM messages WHERE room = ? AND id > ? ORDER BY id ASC LIMIT ?');
    this.#hasBefore = this.#db.prepare("SELECT EXISTS (SELECT 1 FROM messages WHERE room = ? AND kind = 'message' AND id < ?) AS found");
    this.#revoke = this.#db.prepare(
      'INSERT INTO revoked_sessions (id, expires_at) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET expires_at = MAX(expires_at, excluded.expires_at)',
    );
    this.#dropExpiredRevocations = this.#db.prepare('DELETE FROM revoked_sessions WHERE expires_at <= ?');
    this.#isRevoked = this.#db.prepare('SELECT EXISTS (SELECT 1 FROM revoked_sessions WHERE id = ? AND expires_at > ?) AS found');

    const append = (input: NewMessage): Appended => {
      if (input.clientId !== undefined) {
        const earlier = this.#findByClientId.get(input.room, input.userId, input.clientId);
        if (earlier) return { message: fromRow(earlier), created: false };
      }
      const id = this.#nextId(input.room);
      const ts = this.#now();
      const replyTo = input.replyTo === undefined ? null : Number(input.replyTo);
      this.#insert.run(input.room, id, input.userId, input.user, input.text, ts, input.clientId ?? null, replyTo);
      this.#searchIndex.queue(input.room, id);
      const parent = replyTo === null ? undefined : this.#messageRow.get(input.room, replyTo);
      const message: StoredMessage = {
        id: String(id),
        room: input.room,
        userId: input.userId,
        user: input.user,
        text: input.text,
        ts,
        ...(input.clientId === undefined ? {} : { clientId: input.clientId }),
        ...(parent === undefined ? {} : { replyTo: quoteOf(messageOf(parent)) }),
      };
      return { message, created: true };
    };
    this.#append = this.#db.transaction(append);
    // One commit for the whole batch, and no savepoint per message: a message that fails rolls
    // the batch back, and `#commitBatch` stores them again one by one.
    this.#appendAll = this.#db.transaction((inputs: readonly NewMessage[]) => inputs.map(append));
  }

  /**
   * Stores a message. Appends are committed together, in one transaction (a group commit): those
   * of one turn of the event loop, and on a busy store those of every turn until `groupCommitMs`
   * after the last commit. Each promise resolves once the commit holding its message is done.
   *
   * Why wait on a busy store: a commit writes every page it changed to the log, and appends
   * spread over many rooms change a page of each room's messages and of the idempotency index
   * apiece, so a commit of one message wrote some 3 pages (4 KiB each, two system calls a page)
   * and set off its own broadcast, flush and turn of the event loop. Committing at most once a
   * millisecond cut the server's CPU per delivery by 12% at 74.5k deliveries/s in 100 rooms of
   * 10 (the bench's many-rooms case) and by 20% at half that, for about 1.5 ms more latency at
   * the median there. A store that is not busy commits at the end of the turn.
   */
  append(input: NewMessage): Promise<Appended> {
    return new Promise((resolve, reject) => {
      if (!this.#db.open) {
        reject(new Error('the message store is closed'));
        return;
      }
      if (this.#batch.length === 0) this.#scheduleCommit();
      this.#batch.push({ input, resolve, reject });
    });
  }

  /** Plans the commit of a new batch: at the end of the turn, or once `groupCommitMs` has passed since the last. */
  #scheduleCommit(): void {
    const wait = this.#lastCommitAt + this.#groupCommitMs - performance.now();
    if (wait <= 0) setImmediate(this.#commitUnlessHeld);
    else setTimeout(this.#commitUnlessHeld, wait);
  }

  readonly #commitUnlessHeld = (): void => {
    if (!this.#held) this.#commitBatch();
  };

  readonly #commitBatch = (): void => {
    const batch = this.#batch;
    if (batch.length === 0) return;
    this.#batch = [];
    if (!this.#db.open) {
      for (const pending of batch) pending.reject(new Error('the message store is closed'));
      return;
    }
    // Answered after the try: once the batch is committed, nothing may store it again.
    let results: Appended[] | null = null;
    try {
      results = this.#appendAll.immediate(batch.map((pending) => pending.input));
    } catch {
      this.#heads.clear();
      // One bad message must not fail the others: store them one by one, each with its own answer.
      // A locked or broken database fails them all alike: no need to wait for it once per message.
      let fatal: unknown = null;
      for (const pending of batch) {
        if (fatal !== null) {
          pending.reject(fatal);
          continue;
        }
        try {
          this.#resolve(pending, this.#append.immediate(pending.input));
        } catch (error) {
          this.#heads.clear();
          if (error instanceof Database.SqliteError && !error.code.startsWith('SQLITE_CONSTRAINT')) fatal = error;
          pending.reject(error);
        }
      }
    }
    this.#lastCommitAt = performance.now();
    this.#checkpointer?.committed();
    results?.forEach((appended, index) => this.#resolve(batch[index]!, appended));
    this.#indexSoon(this.#searchIndexDelayMs);
  };

  /** Plans a turn of indexing new messages in `delayMs`, unless one is planned already. */
  #indexSoon(delayMs: number): void {
    if (this.#indexing !== null) return;
    if (delayMs > 0) {
      const timer = setTimeout(this.#indexSome, delayMs).unref();
      this.#indexing = { cancel: () => clearTimeout(timer) };
    } else {
      const immediate = setImmediate(this.#indexSome).unref();
      this.#indexing = { cancel: () => clearImmediate(immediate) };
    }
  }

  /** Indexes a chunk of the new messages, and plans the next chunk at once when more wait. */
  readonly #indexSome = (): void => {
    this.#indexing = null;
    // Planned again when the log has started over.
    if (!this.#db.open || this.#held) return;
    let more: boolean;
    try {
      more = this.#searchIndex.indexQueued(INDEX_CHUNK);
    } catch {
      // They stay queued, in the database: indexed on the next try, or before the next search.
      this.#indexSoon(this.#searchIndexDelayMs);
      return;
    }
    this.#checkpointer?.committed();
    if (more) this.#indexSoon(0);
  };

  /** Answers a committed append, and keeps the room's newest page up to date. */
  #resolve(pending: PendingAppend, appended: Appended): void {
    if (appended.created) this.#recent.appended(appended.message);
    pending.resolve(appended);
  }

  async edit(input: EditInput): Promise<EventResult> {
    return this.#change(input.room, () => {
      const target = this.#target(input.room, input.target);
      if (target === null || target.deleted === 1) return { ok: false, reason: target === null ? 'not_found' : 'deleted' };
      if (target.user_id !== input.userId) return { ok: false, reason: 'forbidden' };
      if (target.ts < input.editableSince) return { ok: false, reason: 'too_late' };
      const event = this.#event(input, { kind: 'edit', text: input.text });
      this.#setText.run(input.text, event.ts, input.room, target.id);
      this.#searchIndex.put(input.room, target.id, input.text);
      return { ok: true, event };
    });
  }

  async remove(input: DeleteInput): Promise<EventResult> {
    return this.#change(input.room, () => {
      const target = this.#target(input.room, input.target);
      if (target === null || target.deleted === 1) return { ok: false, reason: target === null ? 'not_found' : 'deleted' };
      if (input.as === 'author' && target.user_id !== input.userId) return { ok: false, reason: 'forbidden' };
      const event = this.#event(input, { kind: 'delete' });
      this.#wipe.run(input.room, target.id);
      this.#wipeEdits.run(input.room, target.id);
      this.#dropReactions.run(input.room, target.id);
      this.#searchIndex.remove(input.room, target.id);
      return { ok: true, event };
    });
  }

  async react(input: ReactInput): Promise<EventResult> {
    return this.#change(input.room, () => {
      const target = this.#target(input.room, input.target);
      if (target === null || target.deleted === 1) return { ok: false, reason: target === null ? 'not_found' : 'deleted' };
      const had = this.#hasReaction.get(input.room, target.id, input.emoji, input.userId)?.found === 1;
      const on = input.on ?? !had;
      if (on === had) return { ok: false, reason: 'unchanged' };
      if (on) {
        const emoji = this.#emojiOn.all(input.room, target.id).map((row) => row.emoji);
        if (!emoji.includes(input.emoji) && emoji.length >= MAX_EMOJI_PER_MESSAGE) return { ok: false, reason: 'too_many_reactions' };
      }
      const id = this.#newest(input.room) + 1; // the event's, stored below
      if (on) this.#addReaction.run(input.room, target.id, input.emoji, input.userId, id);
      else this.#removeReaction.run(input.room, target.id, input.emoji, input.userId);
      const count = this.#reactionCount.get(input.room, target.id, input.emoji)?.count ?? 0;
      return { ok: true, event: this.#event(input, { kind: 'reaction', emoji: input.emoji, on, count }) };
    });
  }

  async message(room: string, id: string): Promise<StoredMessage | null> {
    const row = this.#target(room, id);
    return row === null ? null : (this.#hydrate(room, [row])[0] as StoredMessage);
  }

  /**
   * Runs an edit, deletion or reaction in its own transaction, after the appends waiting (they
   * came first); the room's cached page is dropped, its messages having changed.
   */
  #change(room: string, change: () => EventResult): Promise<EventResult> {
    if (!this.#db.open) return Promise.reject(new Error('the message store is closed'));
    this.#commitBatch();
    let result: EventResult;
    try {
      result = this.#changeTx.immediate(change);
    } catch (error) {
      this.#heads.clear();
      throw error;
    }
    this.#checkpointer?.committed();
    if (result.ok) this.#recent.forget(room);
    return Promise.resolve(result);
  }

  /**
   * The room's next id, taken: call inside the transaction that stores it. Only this process
   * writes the file, so the newest id known is the newest there is, and most rooms written to
   * cost no `MAX(id)`.
   */
  #nextId(room: string): number {
    const id = this.#newest(room) + 1;
    this.#heads.set(room, id);
    return id;
  }

  /** The room's newest id (0 for none), from memory for the rooms written or read lately. */
  #newest(room: string): number {
    let newest = this.#heads.get(room);
    if (newest === undefined) {
      newest = this.#newestId.get(room)?.id ?? 0;
      this.#heads.set(room, newest);
    }
    return newest;
  }

  #target(room: string, id: string): Row | null {
    const number = Number(id);
    return Number.isSafeInteger(number) ? (this.#messageRow.get(room, number) ?? null) : null;
  }

  /** Stores an event with the room's next id (inside `#change`'s transaction). */
  #event(input: { room: string; userId: string; user: string; target: string }, fields: Pick<StoredEvent, 'kind'> & Partial<StoredEvent>): StoredEvent {
    const id = this.#nextId(input.room);
    const ts = this.#now();
    this.#insertEvent.run({
      room: input.room,
      id,
      userId: input.userId,
      user: input.user,
      body: fields.text ?? '',
      ts,
      kind: fields.kind,
      target: Number(input.target),
      emoji: fields.emoji ?? null,
      on: fields.on === undefined ? null : fields.on ? 1 : 0,
      count: fields.count ?? null,
    });
    return { ...fields, id: String(id), room: input.room, target: input.target, userId: input.userId, user: input.user, ts };
  }

  /** Rows of a room → log entries, messages in their current state (quotes and reactions read here). */
  #hydrate(room: string, rows: readonly Row[]): LogEntry[] {
    const messageIds = rows.filter((row) => row.kind === 'message').map((row) => row.id);
    const reactions = new Map<number, { emoji: string; userId: string }[]>();
    if (messageIds.length > 0) {
      for (const row of this.#reactionsBetween.all(room, Math.min(...messageIds), Math.max(...messageIds))) {
        let list = reactions.get(row.message_id);
        if (list === undefined) reactions.set(row.message_id, (list = []));
        list.push({ emoji: row.emoji, userId: row.user_id });
      }
    }
    const parents = new Map<number, Row | null>();
    return rows.map((row) => {
      if (row.kind !== 'message') return eventOf(row);
      let parent: Row | null = null;
      if (row.reply_to !== null) {
        if (!parents.has(row.reply_to)) parents.set(row.reply_to, this.#messageRow.get(room, row.reply_to) ?? null);
        parent = parents.get(row.reply_to) ?? null;
      }
      const counted = reactions.get(row.id);
      return {
        ...messageOf(row),
        ...(parent === null ? {} : { replyTo: quoteOf(messageOf(parent)) }),
        ...(counted === undefined ? {} : { reactions: aggregateReactions(counted) }),
      };
    });
  }

  /** The newest messages of a room, from memory for rooms read or written lately. */
  async latest(room: string, limit: number): Promise<MessagePage> {
    return this.#recent.latest(room, limit, (count) => {
      const page = this.#page(room, this.#latest.all(room, count));
      const head = this.#newest(room);
      return head ? { ...page, head: String(head) } : page;
    });
  }

  async before(room: string, id: string, limit: number): Promise<MessagePage> {
    return this.#page(room, this.#before.all(room, Number(id), limit));
  }

  async after(room: string, id: string, limit: number): Promise<readonly LogEntry[] | null> {
    if (Number(id) > this.#newest(room)) return null;
    return this.#hydrate(room, this.#after.all(room, Number(id), limit));
  }

  async search(rooms: readonly string[], query: string, options: SearchOptions): Promise<SearchHit[]> {
    return this.#searchIndex.search(rooms, query, options, (row: Row) => this.#hydrate(row.room, [row])[0] as StoredMessage);
  }

  async revokeSession(id: string, expiresAt: number): Promise<void> {
    this.#revoke.run(id, expiresAt);
    // Revocations are rare: clearing out the expired ones as each comes keeps the table small.
    this.#dropExpiredRevocations.run(this.#now());
  }

  async isSessionRevoked(id: string): Promise<boolean> {
    return this.#isRevoked.get(id, this.#now())?.found === 1;
  }

  async heads(rooms: readonly string[]): Promise<ReadonlyMap<string, string>> {
    const heads = new Map<string, string>();
    for (const room of rooms) {
      const newest = this.#newest(room);
      if (newest) heads.set(room, String(newest));
    }
    return heads;
  }

  async ping(): Promise<void> {
    this.#db.prepare('SELECT 1').get();
  }

  /** Commits what is waiting, then closes. */
  async close(): Promise<void> {
    this.#commitBatch();
    if (this.#db.open) {
      this.directory.commitVisits();
      this.directory.commitReads();
    }
    this.#indexing?.cancel();
    this.#indexing = null;
    if (this.#db.open) this.#searchIndex.indexQueued();
    await this.#checkpointer?.close();
    // Closing the last connection checkpoints the log into the database file.
    if (this.#db.open) this.#db.close();
  }

  /** Rows newest first → a page oldest first, with whether anything older exists. */
  #page(room: string, newestFirst: Row[]): MessagePage {
    const oldest = newestFirst.at(-1);
    const hasMore = oldest !== undefined && this.#hasBefore.get(room, oldest.id)?.found === 1;
    return { messages: this.#hydrate(room, newestFirst.reverse()) as StoredMessage[], hasMore };
  }
}

/** The newest id of each room used lately: a map that forgets the least recently used rooms past `ROOMS`. */
class NewestIds {
  static readonly ROOMS = 10_000;
  readonly #ids = new Map<string, number>();

  get(room: string): number | undefined {
    const id = this.#ids.get(room);
    if (id !== undefined) {
      this.#ids.delete(room);
      this.#ids.set(room, id);
    }
    return id;
  }

  set(room: string, id: number): void {
    this.#ids.delete(room);
    this.#ids.set(room, id);
    if (this.#ids.size > NewestIds.ROOMS) this.#ids.delete(this.#ids.keys().next().value!);
  }

  clear(): void {
    this.#ids.clear();
  }
}

/**
 * The newest page of the rooms read or written lately, kept up to date by the appends, so that
 * people joining a room (every page load and every reconnect) cost no query. Appends go in
 * once committed; the least recently used rooms go when there are too many.
 */
class RecentPages {
  static readonly PAGE = 50;
  static readonly ROOMS = 1_000;
  readonly #rooms = new Map<string, { messages: StoredMessage[]; hasMore: boolean; head: string | undefined }>();

  latest(room: string, limit: number, read: (count: number) => MessagePage): MessagePage {
    let entry = this.#rooms.get(room);
    if (entry === undefined || (entry.hasMore && entry.messages.length < limit)) {
      const page = read(Math.max(limit, RecentPages.PAGE));
      entry = { messages: [...page.messages], hasMore: page.hasMore, head: page.head };
      if (entry.messages.length > RecentPages.PAGE || limit > RecentPages.PAGE) return page;
    }
    // Most recently used last, so the first key is the one to drop.
    this.#rooms.delete(room);
    this.#rooms.set(room, entry);
    if (this.#rooms.size > RecentPages.ROOMS) this.#rooms.delete(this.#rooms.keys().next().value!);
    const messages = entry.messages.slice(-limit);
    const page = { messages, hasMore: entry.hasMore || entry.messages.length > messages.length };
    return entry.head === undefined ? page : { ...page, head: entry.head };
  }

  /** The room's messages changed (an edit, a deletion, a reaction): read it again next time. */
  forget(room: string): void {
    this.#rooms.delete(room);
  }

  appended(message: StoredMessage): void {
    const entry = this.#rooms.get(message.room);
    if (entry === undefined) return;
    entry.head = message.id;
    entry.messages.push(message);
    if (entry.messages.length > RecentPages.PAGE) {
      entry.messages.shift();
      entry.hasMore = true;
    }
  }
}

function migrate(db: Database.Database, file: string): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > MIGRATIONS.length) {
    throw new Error(`${file} has schema version ${version}, newer than this server knows (${MIGRATIONS.length}): upgrade the server`);
  }
  db.transaction(() => {
    for (let index = version; index < MIGRATIONS.length; index++) db.exec(MIGRATIONS[index]!);
    db.pragma(`user_version = ${MIGRATIONS.length}`);
  }).immediate();
}

interface EventRow {
  room: string;
  id: number;
  userId: string;
  user: string;
  body: string;
  ts: number;
  kind: StoredEvent['kind'];
  target: number;
  emoji: string | null;
  on: number | null;
  count: number | null;
}

function fromRow(row: Row): StoredMessage {
  const message = {
    id: String(row.id),
    room: row.room,
    userId: row.user_id,
    user: row.user_name,
    text: row.body,
    ts: row.ts,
  };
  return row.client_id === null ? message : { ...message, clientId: row.client_id };
}

/** A message row in its current state, without its quote and reactions. */
function messageOf(row: Row): StoredMessage {
  const message = fromRow(row);
  return {
    ...message,
    ...(row.edited_at === null ? {} : { editedAt: row.edited_at }),
    ...(row.deleted === 1 ? { deleted: true } : {}),
  };
}

function eventOf(row: Row): StoredEvent {
  const event: StoredEvent = {
    kind: row.kind as StoredEvent['kind'],
    id: String(row.id),
    room: row.room,
    target: String(row.target),
    userId: row.user_id,
    user: row.user_name,
    ts: row.ts,
  };
  if (row.kind === 'edit') return { ...event, text: row.body };
  if (row.kind === 'reaction') return { ...event, emoji: row.emoji ?? '', on: row.reaction_on === 1, count: row.reaction_count ?? 0 };
  return event;
}

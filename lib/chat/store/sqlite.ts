import { closeSync, mkdirSync, openSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { SqliteCheckpointer } from './sqlite-checkpointer';
import { SqliteDirectory } from './sqlite-directory';
import { openSqlite } from './sqlite-driver';
import { registerSearchFunctions, SEARCH_MIGRATION, SqliteSearchIndex } from './sqlite-search';
import type { MessagePage, MessageStore, NewMessage, SearchHit, SearchOptions, StoredMessage } from './types';

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
  // Search: an FTS5 index of every message's tokens (see sqlite-search.ts), existing ones included.
  SEARCH_MIGRATION,
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
}

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
  readonly #insert: Database.Statement<[string, number, string, string, string, number, string | null]>;
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
  /** Appends waiting for the end of this turn of the event loop, to be committed together. */
  #batch: PendingAppend[] = [];

  readonly directory: SqliteDirectory;

  /**
   * Opens (creating it and its folder if needed) and migrates the database at `file`. A new
   * database is readable by this user only (0600, its folder 0700), like the session secret.
   */
  constructor(file: string, options: SqliteMessageStoreOptions = {}) {
    if (file !== ':memory:') createPrivately(file);
    this.#db = openSqlite(file);
    this.#now = options.now ?? Date.now;
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('synchronous = NORMAL');
    this.#db.pragma('busy_timeout = 5000');
    registerSearchFunctions(this.#db);
    migrate(this.#db, file);
    if (file !== ':memory:') {
      this.#db.pragma('wal_autocheckpoint = 0');
      this.#checkpointer = new SqliteCheckpointer(file, {
        intervalMs: options.checkpointIntervalMs ?? 1_000,
        failed: () => {
          if (this.#db.open) this.#db.pragma('wal_autocheckpoint = 1000');
        },
      });
    }

    this.directory = new SqliteDirectory(this.#db, this.#now);
    this.#searchIndex = new SqliteSearchIndex(this.#db);
    this.#findByClientId = this.#db.prepare('SELECT * FROM messages WHERE room = ? AND user_id = ? AND client_id = ?');
    this.#newestId = this.#db.prepare('SELECT MAX(id) AS id FROM messages WHERE room = ?');
    this.#insert = this.#db.prepare(
      'INSERT INTO messages (room, id, user_id, user_name, body, ts, client_id) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    this.#latest = this.#db.prepare('SELECT * FROM messages WHERE room = ? ORDER BY id DESC LIMIT ?');
    this.#before = this.#db.prepare('SELECT * FROM messages WHERE room = ? AND id < ? ORDER BY id DESC LIMIT ?');
    this.#after = this.#db.prepare('SELECT * FROM messages WHERE room = ? AND id > ? ORDER BY id ASC LIMIT ?');
    this.#hasBefore = this.#db.prepare('SELECT EXISTS (SELECT 1 FROM messages WHERE room = ? AND id < ?) AS found');
    this.#revoke = this.#db.prepare(
      'INSERT INTO revoked_sessions (id, expires_at) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET expires_at = MAX(expires_at, excluded.expires_at)',
    );
    this.#dropExpiredRevocations = this.#db.prepare('DELETE FROM revoked_sessions WHERE expires_at <= ?');
    this.#isRevoked = this.#db.prepare('SELECT EXISTS (SELECT 1 FROM revoked_sessions WHERE id = ? AND expires_at > ?) AS found');

    this.#append = this.#db.transaction((input: NewMessage): Appended => {
      if (input.clientId !== undefined) {
        const earlier = this.#findByClientId.get(input.room, input.userId, input.clientId);
        if (earlier) return { message: fromRow(earlier), created: false };
      }
      const id = (this.#newestId.get(input.room)?.id ?? 0) + 1;
      const ts = this.#now();
      this.#insert.run(input.room, id, input.userId, input.user, input.text, ts, input.clientId ?? null);
      this.#searchIndex.add(input.room, id, input.text);
      const message: StoredMessage = {
        id: String(id),
        room: input.room,
        userId: input.userId,
        user: input.user,
        text: input.text,
        ts,
        ...(input.clientId === undefined ? {} : { clientId: input.clientId }),
      };
      return { message, created: true };
    });
    // Nested in a transaction, each append is a savepoint: one commit for the whole batch.
    this.#appendAll = this.#db.transaction((inputs: readonly NewMessage[]) => inputs.map((input) => this.#append(input)));
  }

  /**
   * Stores a message. The appends of one turn of the event loop are committed together, in one
   * transaction (a group commit): a busy server pays for one commit per turn, not one per
   * message. Each promise resolves once the commit holding its message is done.
   *
   * The batch commits at the end of the turn, not in the write pacer's flush as PostgreSQL's
   * does: the pacer gathers network writes, and holding them saves a system call per socket;
   * this commit is synchronous work in the process that saves nothing by waiting, while the
   * broadcast waits for it, so a paced hold (up to 10 ms) would only add to every message's delay.
   */
  append(input: NewMessage): Promise<Appended> {
    return new Promise((resolve, reject) => {
      if (!this.#db.open) {
        reject(new Error('the message store is closed'));
        return;
      }
      if (this.#batch.length === 0) setImmediate(this.#commitBatch);
      this.#batch.push({ input, resolve, reject });
    });
  }

  readonly #commitBatch = (): void => {
    const batch = this.#batch;
    if (batch.length === 0) return;
    this.#batch = [];
    if (!this.#db.open) {
      for (const pending of batch) pending.reject(new Error('the message store is closed'));
      return;
    }
    let results: Appended[];
    try {
      results = this.#appendAll.immediate(batch.map((pending) => pending.input));
    } catch {
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
          if (error instanceof Database.SqliteError && !error.code.startsWith('SQLITE_CONSTRAINT')) fatal = error;
          pending.reject(error);
        }
      }
      this.#checkpointer?.committed();
      return;
    }
    this.#checkpointer?.committed();
    batch.forEach((pending, index) => this.#resolve(pending, results[index]!));
  };

  /** Answers a committed append, and keeps the room's newest page up to date. */
  #resolve(pending: PendingAppend, appended: Appended): void {
    if (appended.created) this.#recent.appended(appended.message);
    pending.resolve(appended);
  }

  /** The newest messages of a room, from memory for rooms read or written lately. */
  async latest(room: string, limit: number): Promise<MessagePage> {
    return this.#recent.latest(room, limit, (count) => this.#page(room, this.#latest.all(room, count)));
  }

  async before(room: string, id: string, limit: number): Promise<MessagePage> {
    return this.#page(room, this.#before.all(room, Number(id), limit));
  }

  async after(room: string, id: string, limit: number): Promise<readonly StoredMessage[] | null> {
    const newest = this.#newestId.get(room)?.id ?? 0;
    if (Number(id) > newest) return null;
    return this.#after.all(room, Number(id), limit).map(fromRow);
  }

  async search(rooms: readonly string[], query: string, options: SearchOptions): Promise<SearchHit[]> {
    return this.#searchIndex.search(rooms, query, options, fromRow);
  }

  /**
   * The search index, for the writes that change a message's text: `put` after an edit, `remove`
   * after a deletion, inside the same transaction as the change.
   */
  get searchIndex(): SqliteSearchIndex {
    return this.#searchIndex;
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
      const newest = this.#newestId.get(room)?.id;
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
    await this.#checkpointer?.close();
    // Closing the last connection checkpoints the log into the database file.
    if (this.#db.open) this.#db.close();
  }

  /** Rows newest first → a page oldest first, with whether anything older exists. */
  #page(room: string, newestFirst: Row[]): MessagePage {
    const oldest = newestFirst.at(-1);
    const hasMore = oldest !== undefined && this.#hasBefore.get(room, oldest.id)?.found === 1;
    return { messages: newestFirst.reverse().map(fromRow), hasMore };
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
  readonly #rooms = new Map<string, { messages: StoredMessage[]; hasMore: boolean }>();

  latest(room: string, limit: number, read: (count: number) => MessagePage): MessagePage {
    let entry = this.#rooms.get(room);
    if (entry === undefined || (entry.hasMore && entry.messages.length < limit)) {
      const page = read(Math.max(limit, RecentPages.PAGE));
      entry = { messages: [...page.messages], hasMore: page.hasMore };
      if (entry.messages.length > RecentPages.PAGE || limit > RecentPages.PAGE) return page;
    }
    // Most recently used last, so the first key is the one to drop.
    this.#rooms.delete(room);
    this.#rooms.set(room, entry);
    if (this.#rooms.size > RecentPages.ROOMS) this.#rooms.delete(this.#rooms.keys().next().value!);
    const messages = entry.messages.slice(-limit);
    return { messages, hasMore: entry.hasMore || entry.messages.length > messages.length };
  }

  appended(message: StoredMessage): void {
    const entry = this.#rooms.get(message.room);
    if (entry === undefined) return;
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

import type Database from 'better-sqlite3';
import { fts5Document, fts5Query, queryParts } from '../search-text';
import type { SearchHit, SearchOptions, StoredMessage } from './types';

/**
 * The SQLite schema of search (a migration of `MIGRATIONS`): an FTS5 table over each message's
 * tokens as search-text.ts makes them, joined by spaces. Its `ascii` tokenizer splits there and
 * changes nothing else (our tokens hold no ASCII punctuation, and are lower case already), so the
 * index holds exactly our tokens; unicode61 would fold diacritics and apply its own Unicode 6.1
 * idea of a letter. Messages are `WITHOUT ROWID`, so `search_docs` gives each indexed message the
 * rowid of its index row. FTS5's `secure-delete` is on: a deleted message's tokens leave the
 * index's pages at once, not at its next merge. The existing messages are indexed by the migration itself, through
 * `chat_search_document`, a function every connection of the store registers before migrating.
 */
export const SEARCH_MIGRATION = `CREATE TABLE search_docs (
     doc  INTEGER PRIMARY KEY,
     room TEXT    NOT NULL,
     id   INTEGER NOT NULL,
     UNIQUE (room, id)
   );
   CREATE VIRTUAL TABLE search_index USING fts5(tokens, tokenize = 'ascii');
   INSERT INTO search_index (search_index, rank) VALUES ('secure-delete', 1);
   INSERT INTO search_docs (room, id) SELECT room, id FROM messages WHERE kind = 'message' AND deleted = 0 ORDER BY room, id;
   INSERT INTO search_index (rowid, tokens)
     SELECT d.doc, chat_search_document(m.body) FROM search_docs d JOIN messages m ON m.room = d.room AND m.id = d.id;`;

/**
 * The messages stored but not yet indexed (a later migration than `SEARCH_MIGRATION`). A new
 * message's row here is written in the message's own commit, and its tokens later, many messages
 * in one transaction: an FTS5 insert writes a new segment of the index at every commit, which cost
 * as much as the rest of an append together (about 70 of 150 µs of CPU per message, committed one
 * by one). Kept in the database, so what a crash left unindexed is indexed when the store opens.
 */
export const SEARCH_BACKLOG_MIGRATION = `CREATE TABLE search_backlog (
     room TEXT    NOT NULL,
     id   INTEGER NOT NULL,
     PRIMARY KEY (room, id)
   ) WITHOUT ROWID;`;

/**
 * The index rebuilt contentless (a later migration): FTS5 kept a copy of every message's tokens
 * in a table of its own, which nothing reads (a search joins the messages) and which cost the most
 * of each turn of indexing's commit: with secure-delete on, about 10 of 39 µs a message (the bench's
 * 100 rooms, 256 messages a turn), against under 3 contentless. `contentless_delete` lets an edit
 * or a deletion take a message out by its rowid, as before, and secure-delete still removes its
 * tokens from the index's pages at once; the deleted text is now in no copy to begin with.
 */
export const CONTENTLESS_SEARCH_MIGRATION = `DROP TABLE search_index;
   CREATE VIRTUAL TABLE search_index USING fts5(tokens, tokenize = 'ascii', content = '', contentless_delete = 1);
   INSERT INTO search_index (search_index, rank) VALUES ('secure-delete', 1);
   INSERT INTO search_index (rowid, tokens)
     SELECT d.doc, chat_search_document(m.body) FROM search_docs d JOIN messages m ON m.room = d.room AND m.id = d.id;`;

/**
 * The queue in the order messages were stored (a later migration): keyed by room and id, each
 * message of a commit went to its room's page of the queue, one more page written per message
 * in a commit spread over many rooms (the bench's 100: 3.5 pages written per message, 2.8 now,
 * the commit some 5 µs a message cheaper); a sequence puts them all on the last page, and a turn
 * of indexing takes them off the front with one statement.
 */
export const SEARCH_QUEUE_MIGRATION = `CREATE TABLE search_queue (
     seq  INTEGER PRIMARY KEY,
     room TEXT    NOT NULL,
     id   INTEGER NOT NULL
   );
   INSERT INTO search_queue (room, id) SELECT room, id FROM search_backlog ORDER BY room, id;
   DROP TABLE search_backlog;`;

/**
 * The queued messages' text, oldest first. `CROSS JOIN` keeps SQLite's join order as written:
 * left to itself, the planner scanned the whole log and looked each message up in the queue,
 * which made each turn of indexing cost in proportion to the number of messages stored (60 µs a
 * message at 4,000 messages/s in the bench, after a few minutes).
 */
export const QUEUED = `SELECT q.seq, q.room, q.id, m.body, m.deleted FROM search_queue q
    CROSS JOIN messages m ON m.room = q.room AND m.id = q.id
   ORDER BY q.seq
   LIMIT ?`;

/** Registers the SQL function `SEARCH_MIGRATION` indexes the existing messages with. */
export function registerSearchFunctions(db: Database.Database): void {
  db.function('chat_search_document', { deterministic: true }, (body: unknown) => fts5Document(typeof body === 'string' ? body : ''));
}

/** What the search query selects: every column of `messages`. */
interface Row {
  room: string;
  id: number;
}

/** Greater than any `ts`: the cursor of the first page. */
const NO_CURSOR = { ts: Number.MAX_SAFE_INTEGER, room: '', id: 0 };

/**
 * The FTS5 index of a SQLite store's messages. Its calls are synchronous. A new message is
 * queued (`queue`, in the message's commit) and indexed by `indexQueued`, which the store calls a
 * moment later for many messages at once, and before anything reads or changes the index: a
 * search, an edit, a deletion. Edits and deletions change the index in their own commit.
 */
export class SqliteSearchIndex {
  readonly #db: Database.Database;
  readonly #queue: Database.Statement<[string, number]>;
  readonly #queued: Database.Statement<[number], { seq: number; room: string; id: number; body: string; deleted: number }>;
  readonly #unqueue: Database.Statement<[number]>;
  readonly #indexQueuedTx: Database.Transaction<(limit: number) => number>;
  /** Whether messages may wait in the queue: this connection queued some, or it just opened. */
  #pending = true;
  readonly #addDoc: Database.Statement<[string, number]>;
  readonly #addTokens: Database.Statement<[number | bigint, string]>;
  readonly #findDoc: Database.Statement<[string, number], { doc: number }>;
  readonly #dropTokens: Database.Statement<[number]>;
  readonly #dropDoc: Database.Statement<[number]>;
  readonly #search: Database.Statement<[{ match: string; rooms: string; ts: number; room: string; id: number; limit: number }], unknown>;

  constructor(db: Database.Database) {
    this.#db = db;
    this.#queue = db.prepare('INSERT INTO search_queue (room, id) VALUES (?, ?)');
    this.#queued = db.prepare(QUEUED);
    this.#unqueue = db.prepare('DELETE FROM search_queue WHERE seq <= ?');
    this.#indexQueuedTx = db.transaction((limit: number) => {
      const rows = this.#queued.all(limit);
      for (const row of rows) {
        if (row.deleted === 0) this.add(row.room, row.id, row.body);
      }
      if (rows.length > 0) this.#unqueue.run(rows.at(-1)!.seq);
      return rows.length;
    });
    // Not `RETURNING doc`: that made each insert some 10 µs dearer than reading the new rowid.
    this.#addDoc = db.prepare('INSERT INTO search_docs (room, id) VALUES (?, ?)');
    this.#addTokens = db.prepare('INSERT INTO search_index (rowid, tokens) VALUES (?, ?)');
    this.#findDoc = db.prepare('SELECT doc FROM search_docs WHERE room = ? AND id = ?');
    this.#dropTokens = db.prepare('DELETE FROM search_index WHERE rowid = ?');
    this.#dropDoc = db.prepare('DELETE FROM search_docs WHERE doc = ?');
    this.#search = db.prepare(
      `SELECT m.* FROM search_index
         JOIN search_docs d ON d.doc = search_index.rowid
         JOIN messages m ON m.room = d.room AND m.id = d.id
        WHERE search_index MATCH @match AND d.room IN (SELECT value FROM json_each(@rooms))
          AND (m.ts < @ts OR (m.ts = @ts AND (m.room < @room OR (m.room = @room AND m.id < @id))))
        ORDER BY m.ts DESC, m.room DESC, m.id DESC
        LIMIT @limit`,
    );
  }

  /** Queues a new message for indexing (`append`, inside its transaction). */
  queue(room: string, id: number): void {
    this.#queue.run(room, id);
    this.#pending = true;
  }

  /**
   * Indexes up to `limit` queued messages (all by default) in one transaction, nested in the
   * caller's if there is one. Returns whether messages are still queued.
   */
  indexQueued(limit = Number.POSITIVE_INFINITY): boolean {
    if (!this.#pending || !this.#db.open) return false;
    const rows = Number.isFinite(limit) ? limit : -1; // LIMIT -1: no limit
    // Nested, the caller's commit or rollback decides: the queue is read again next time.
    if (this.#db.inTransaction) return this.#indexQueuedTx(rows) === limit;
    this.#pending = this.#indexQueuedTx.immediate(rows) === limit;
    return this.#pending;
  }

  /** Indexes a message now (an edit's new text, or a queued message). Call inside a transaction. */
  add(room: string, id: number, text: string): void {
    const { lastInsertRowid } = this.#addDoc.run(room, id);
    this.#addTokens.run(lastInsertRowid, fts5Document(text));
  }

  /** Indexes a message's text, replacing what was indexed for it (an edit). Call inside the write's transaction. */
  put(room: string, id: number, text: string): void {
    this.remove(room, id); // indexes what is queued first
    this.add(room, id, text);
  }


  /** Takes a message out of the index (a deletion). Call inside the write's transaction. */
  remove(room: string, id: number): void {
    this.indexQueued();
    const found = this.#findDoc.get(room, id);
    if (found === undefined) return;
    this.#dropTokens.run(found.doc);
    this.#dropDoc.run(found.doc);
  }

  /** The messages of `rooms` matching `query`, newest first (see `MessageStore.search`). */
  search<R extends Row>(rooms: readonly string[], query: string, options: SearchOptions, fromRow: (row: R) => StoredMessage): SearchHit[] {
    const parts = queryParts(query);
    if (parts.length === 0 || rooms.length === 0 || options.limit <= 0) return [];
    this.indexQueued();
    const cursor = options.before === undefined ? NO_CURSOR : { ...options.before, id: Number(options.before.id) };
    const rows = this.#search.all({ match: fts5Query(parts), rooms: JSON.stringify([...new Set(rooms)]), ...cursor, limit: options.limit }) as R[];
    return rows.map((row) => ({ room: row.room, message: fromRow(row) }));
  }
}

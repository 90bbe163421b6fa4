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
 * The FTS5 index of a SQLite store's messages. Its calls are synchronous: made inside the
 * store's transactions, the index changes with the messages, in the same commit.
 */
export class SqliteSearchIndex {
  readonly #addDoc: Database.Statement<[string, number], { doc: number }>;
  readonly #addTokens: Database.Statement<[number, string]>;
  readonly #findDoc: Database.Statement<[string, number], { doc: number }>;
  readonly #dropTokens: Database.Statement<[number]>;
  readonly #dropDoc: Database.Statement<[number]>;
  readonly #search: Database.Statement<[{ match: string; rooms: string; ts: number; room: string; id: number; limit: number }], unknown>;

  constructor(db: Database.Database) {
    this.#addDoc = db.prepare('INSERT INTO search_docs (room, id) VALUES (?, ?) RETURNING doc');
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

  /** Indexes a new message (`append`, inside its transaction). */
  add(room: string, id: number, text: string): void {
    const { doc } = this.#addDoc.get(room, id)!;
    this.#addTokens.run(doc, fts5Document(text));
  }

  /** Indexes a message's text, replacing what was indexed for it (an edit). Call inside the write's transaction. */
  put(room: string, id: number, text: string): void {
    this.remove(room, id);
    this.add(room, id, text);
  }

  /** Takes a message out of the index (a deletion). Call inside the write's transaction. */
  remove(room: string, id: number): void {
    const found = this.#findDoc.get(room, id);
    if (found === undefined) return;
    this.#dropTokens.run(found.doc);
    this.#dropDoc.run(found.doc);
  }

  /** The messages of `rooms` matching `query`, newest first (see `MessageStore.search`). */
  search<R extends Row>(rooms: readonly string[], query: string, options: SearchOptions, fromRow: (row: R) => StoredMessage): SearchHit[] {
    const parts = queryParts(query);
    if (parts.length === 0 || rooms.length === 0 || options.limit <= 0) return [];
    const cursor = options.before === undefined ? NO_CURSOR : { ...options.before, id: Number(options.before.id) };
    const rows = this.#search.all({ match: fts5Query(parts), rooms: JSON.stringify([...new Set(rooms)]), ...cursor, limit: options.limit }) as R[];
    return rows.map((row) => ({ room: row.room, message: fromRow(row) }));
  }
}

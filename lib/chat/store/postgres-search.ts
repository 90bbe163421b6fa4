import type pg from 'pg';
import { queryParts, tsqueryLiteral, tsvectorLiteral } from '../search-text';
import type { SearchOptions } from './types';

/**
 * PostgreSQL's side of search: a `tsvector` per message, built in JavaScript by search-text.ts
 * and given as a literal (`'北京':2 '京大':3`), so no PostgreSQL parser, dictionary or locale
 * touches the text: its lexemes are exactly the tokens SQLite's FTS5 index and the memory store
 * use. Queries are `tsquery` literals the same way (phrases with `<->`, one-character CJK queries
 * as prefixes `:*`), answered by a GIN index.
 */

/** The migration (of `MIGRATIONS`): the table and its index. `indexExistingMessages` fills it in the same transaction. */
export const SEARCH_MIGRATION = `CREATE TABLE message_search (
     room text     NOT NULL,
     id   bigint   NOT NULL,
     doc  tsvector NOT NULL,
     PRIMARY KEY (room, id)
   );
   CREATE INDEX message_search_doc ON message_search USING gin (doc);`;

/** Messages indexed per round trip when the migration indexes the existing ones. */
const BACKFILL_BATCH = 1_000;

/**
 * Indexes every message already stored, in batches, inside the migration's transaction: the
 * tokenizer is JavaScript, so the migration's SQL cannot do it alone.
 */
export async function indexExistingMessages(client: pg.PoolClient): Promise<void> {
  let cursor: { room: string; id: string } | null = null;
  for (;;) {
    const page: pg.QueryResult<{ room: string; id: string; body: string }> = await (cursor === null
      ? client.query(`SELECT room, id, body FROM messages WHERE kind = 'message' AND NOT deleted ORDER BY room, id LIMIT $1`, [BACKFILL_BATCH])
      : client.query(`SELECT room, id, body FROM messages WHERE kind = 'message' AND NOT deleted AND (room, id) > ($1, $2) ORDER BY room, id LIMIT $3`, [
          cursor.room,
          cursor.id,
          BACKFILL_BATCH,
        ]));
    if (page.rows.length === 0) return;
    await client.query(
      `INSERT INTO message_search (room, id, doc)
       SELECT u.room, u.id, u.doc::tsvector FROM unnest($1::text[], $2::bigint[], $3::text[]) AS u(room, id, doc)`,
      [page.rows.map((row) => row.room), page.rows.map((row) => row.id), page.rows.map((row) => tsvectorLiteral(row.body))],
    );
    const last = page.rows.at(-1)!;
    cursor = { room: last.room, id: last.id };
  }
}

export { tsvectorLiteral };

/**
 * `chat_event` with the index following it in the same statement, so in the same transaction:
 * an edit that was stored replaces its target's document with `$13` (the new text's
 * `tsvectorLiteral`); a deletion that was stored removes it.
 */
export const EVENT_AND_INDEX = `WITH e AS (SELECT * FROM chat_event($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)),
     edited AS (INSERT INTO message_search (room, id, doc)
                SELECT $1, $5, $13::tsvector FROM e WHERE e.o_reason IS NULL AND $2 = 'edit'
                ON CONFLICT (room, id) DO UPDATE SET doc = excluded.doc),
     deleted AS (DELETE FROM message_search
                  WHERE room = $1 AND id = $5 AND $2 = 'delete' AND EXISTS (SELECT 1 FROM e WHERE e.o_reason IS NULL))
  SELECT * FROM e`;

/** `chat_append_reply` with the message indexed in the same statement, so in the same transaction. `$8`: its `tsvectorLiteral`. */
export const APPEND_AND_INDEX = `WITH a AS (SELECT * FROM chat_append_reply($1, $2, $3, $4, $5, $6, $7)),
     s AS (INSERT INTO message_search (room, id, doc) SELECT $1, a.o_id, $8::tsvector FROM a WHERE a.o_created)
  SELECT * FROM a`;

/** `chat_append_reply_batch` likewise: `$8` the documents, in the order of the other arrays (`o_index` counts from 1). */
export const APPEND_BATCH_AND_INDEX = `WITH a AS (SELECT * FROM chat_append_reply_batch($1, $2, $3, $4, $5, $6, $7)),
     s AS (INSERT INTO message_search (room, id, doc)
           SELECT ($1::text[])[a.o_index], a.o_id, (($8::text[])[a.o_index])::tsvector FROM a WHERE a.o_created)
  SELECT * FROM a`;

/**
 * The search query and its values, or `null` when there is nothing to search for. `columns` and
 * `join` select each hit as the store's pages do (`m` is the message). Rooms are
 * ordered by code units (`COLLATE "C"`), as the other stores order them, whatever the database's
 * collation.
 */
export function searchQuery(
  rooms: readonly string[],
  query: string,
  options: SearchOptions,
  { columns, join }: { columns: string; join: string },
): { text: string; values: unknown[] } | null {
  const parts = queryParts(query);
  if (parts.length === 0 || rooms.length === 0 || options.limit <= 0) return null;
  const cursor = options.before ?? { ts: Number.MAX_SAFE_INTEGER, room: '', id: '0' };
  return {
    text: `SELECT ${columns} FROM message_search s
             JOIN messages m ON m.room = s.room AND m.id = s.id
             ${join}
            WHERE s.doc @@ $1::tsquery AND s.room = ANY($2::text[])
              AND (m.ts < $3 OR (m.ts = $3 AND (m.room COLLATE "C" < $4 OR (m.room = $4 AND m.id < $5))))
            ORDER BY m.ts DESC, m.room COLLATE "C" DESC, m.id DESC
            LIMIT $6`,
    values: [tsqueryLiteral(parts), [...new Set(rooms)], cursor.ts, cursor.room, cursor.id, options.limit],
  };
}

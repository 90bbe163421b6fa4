/**
 * What every store shares about edits, deletions, reactions and replies: the quote of a parent,
 * and the aggregation of reactions. Pure functions over plain values.
 */
import { MAX_REACTORS_LISTED, type ReactionCount, REPLY_SNIPPET_CHARS, type ReplyQuote, type StoredMessage } from './types';

/** The first `REPLY_SNIPPET_CHARS` code points of a text, with an ellipsis when cut. */
export function snippet(text: string): string {
  const points = [...text.slice(0, REPLY_SNIPPET_CHARS * 2 + 2)];
  return points.length > REPLY_SNIPPET_CHARS ? `${points.slice(0, REPLY_SNIPPET_CHARS).join('')}…` : text;
}

/** How a reply quotes `parent` as it reads now: a deleted parent is quoted with no text. */
export function quoteOf(parent: Pick<StoredMessage, 'id' | 'userId' | 'user' | 'text' | 'deleted'>): ReplyQuote {
  const quote = { id: parent.id, userId: parent.userId, user: parent.user };
  return parent.deleted ? { ...quote, text: '', deleted: true } : { ...quote, text: snippet(parent.text) };
}

/** Reaction rows (one per person and emoji, in the order they were put on) → counts per emoji. */
export function aggregateReactions(rows: readonly { readonly emoji: string; readonly userId: string }[]): ReactionCount[] {
  const byEmoji = new Map<string, { count: number; userIds: string[] }>();
  for (const row of rows) {
    let entry = byEmoji.get(row.emoji);
    if (entry === undefined) byEmoji.set(row.emoji, (entry = { count: 0, userIds: [] }));
    entry.count++;
    if (entry.userIds.length < MAX_REACTORS_LISTED) entry.userIds.push(row.userId);
  }
  return [...byEmoji].map(([emoji, entry]) => ({ emoji, count: entry.count, userIds: entry.userIds }));
}

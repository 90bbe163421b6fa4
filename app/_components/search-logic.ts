import { type ChatMessageFrame, codePointLength } from '@/lib/chat/protocol';
import { ApiError } from '@/lib/client/api';

/** Characters (code points) of a query at most, as the server counts them (docs/protocol.md, "Search route"). */
export const MAX_QUERY_CHARS = 100;

/** The search page's address for a query, in one room or all. */
export function searchPageHref(q: string, room: string | null): string {
  const params = new URLSearchParams();
  if (q !== '') params.set('q', q);
  if (room !== null) params.set('room', room);
  const query = params.toString();
  return query === '' ? '/search/' : `/search/?${query}`;
}

/** A message in its place in its room's log (see useMessageTarget). */
export function messageHref(message: Pick<ChatMessageFrame, 'room' | 'id'>): string {
  return `/chat/${encodeURIComponent(message.room)}/?at=${encodeURIComponent(message.id)}`;
}

/** What went wrong with a search, for the page to tell in its language. */
export type SearchProblem =
  | { readonly kind: 'rate_limited' | 'unavailable'; readonly seconds: number }
  | { readonly kind: 'network' | 'too_long' | 'invalid' | 'not_found' }
  | { readonly kind: 'other'; readonly detail: string };

export function searchProblem(error: unknown): SearchProblem {
  if (!(error instanceof ApiError)) return { kind: 'other', detail: String(error) };
  if (error.code === 'network') return { kind: 'network' };
  // Whatever the body says (a proxy's own 429 or 503 page has none of ours).
  if (error.status === 429) return { kind: 'rate_limited', seconds: error.retryAfter ?? 1 };
  if (error.status === 503) return { kind: 'unavailable', seconds: error.retryAfter ?? 1 };
  if (error.code === 'too_long' || error.code === 'invalid' || error.code === 'not_found') return { kind: error.code };
  return { kind: 'other', detail: error.detail || error.code };
}

/** Whether the server would refuse a query as too long (checked first, to say so at once). */
export function queryTooLong(q: string): boolean {
  return codePointLength(q.trim(), MAX_QUERY_CHARS) > MAX_QUERY_CHARS;
}

/** A further page after the results shown, without one twice (a message is one room's id). */
export function appendResults(shown: readonly ChatMessageFrame[], page: readonly ChatMessageFrame[]): readonly ChatMessageFrame[] {
  const seen = new Set(shown.map((message) => `${message.room} ${message.id}`));
  return [...shown, ...page.filter((message) => !seen.has(`${message.room} ${message.id}`))];
}

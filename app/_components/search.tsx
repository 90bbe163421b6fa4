'use client';

import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { type FormEvent, useEffect, useState } from 'react';
import type { ChatMessageFrame } from '@/lib/chat/protocol';
import { chatApi, type RoomSummary } from '@/lib/client';
import { useI18n } from '../_i18n/i18n';
import { Isolated } from '../_i18n/isolated';
import { blockComposingEnter } from './composing';
import { MessageText } from './message-text';
import { roomListTitle } from './room-list';
import { appendResults, MAX_QUERY_CHARS, messageHref, queryTooLong, searchPageHref, type SearchProblem, searchProblem } from './search-logic';
import { isPrivateRoomName } from './use-room-info';

type Found = {
  readonly results: readonly ChatMessageFrame[];
  readonly next: string | null;
  /** When the first page came: times are told relative to it. */
  readonly at: number;
};

type SearchState =
  | { readonly status: 'idle' }
  | { readonly status: 'searching' }
  | { readonly status: 'failed'; readonly problem: SearchProblem }
  | ({ readonly status: 'found' } & Found);

/**
 * Searches in flight, by what they ask: React runs an effect twice in development (StrictMode),
 * and each request would spend the person's search budget (a burst of 5).
 */
const inFlight = new Map<string, ReturnType<typeof chatApi.search>>();

function searchOnce(query: string, room: string | null, attempt: number): ReturnType<typeof chatApi.search> {
  const key = JSON.stringify([query, room, attempt]);
  let searching = inFlight.get(key);
  if (searching === undefined) {
    searching = chatApi.search(query, { room }).finally(() => inFlight.delete(key));
    inFlight.set(key, searching);
  }
  return searching;
}

/**
 * `/search/`: a search form, and the messages that match its query in this person's rooms (or
 * in `room` only), newest first, each a link to the message in its place in the log. The query
 * is the page's address (`?q=`, `?room=`): the page is made afresh for each (see app/search/page.tsx).
 */
export function Search({ q, room }: { readonly q: string; readonly room: string | null }) {
  const { t, format } = useI18n();
  const TEXT = t.search;
  const router = useRouter();
  const query = q.trim();
  const [text, setText] = useState(q);
  const [state, setState] = useState<SearchState>(() =>
    query === '' ? { status: 'idle' } : queryTooLong(query) ? { status: 'failed', problem: { kind: 'too_long' } } : { status: 'searching' },
  );
  // Each search asked for (a retry of the same query too) has its number.
  const [attempt, setAttempt] = useState(0);
  const [more, setMore] = useState<{ readonly loading: boolean; readonly problem: SearchProblem | null }>({ loading: false, problem: null });
  const rooms = useRoomTitles();

  useEffect(() => {
    if (query === '' || queryTooLong(query)) return;
    let live = true;
    searchOnce(query, room, attempt).then(
      (page) => {
        if (live) setState({ status: 'found', results: page.results, next: page.next, at: Date.now() });
      },
      (error: unknown) => {
        if (live) setState({ status: 'failed', problem: searchProblem(error) });
      },
    );
    return () => {
      live = false;
    };
  }, [query, room, attempt]);

  function submit(event: FormEvent): void {
    event.preventDefault();
    const wanted = text.trim();
    if (wanted === query && wanted !== '') {
      // The same search again (after a refusal, say): the address stays, the search runs again.
      setState(queryTooLong(wanted) ? { status: 'failed', problem: { kind: 'too_long' } } : { status: 'searching' });
      setMore({ loading: false, problem: null });
      setAttempt((n) => n + 1);
      return;
    }
    router.push(searchPageHref(wanted, room));
  }

  async function loadMore(): Promise<void> {
    if (state.status !== 'found' || state.next === null) return;
    setMore({ loading: true, problem: null });
    try {
      const page = await chatApi.search(query, { room, before: state.next });
      setState({ ...state, results: appendResults(state.results, page.results), next: page.next });
      setMore({ loading: false, problem: null });
    } catch (error) {
      setMore({ loading: false, problem: searchProblem(error) });
    }
  }

  function problemText(problem: SearchProblem): string {
    switch (problem.kind) {
      case 'rate_limited':
        return format.plural(TEXT.rateLimited, problem.seconds);
      case 'unavailable':
        return format.plural(TEXT.unavailable, problem.seconds);
      case 'network':
        return TEXT.network;
      case 'too_long':
        return TEXT.tooLong(format.number(MAX_QUERY_CHARS));
      case 'invalid':
        return TEXT.invalid;
      case 'not_found':
        return TEXT.notFound;
      case 'other':
        return TEXT.failed(problem.detail);
    }
  }

  return (
    <main className="page search-page">
      <h1>{TEXT.heading}</h1>
      <form id="search-form" role="search" className="stack-form" onSubmit={submit}>
        <label htmlFor="search-input">{TEXT.label}</label>
        <div className="row">
          <input
            id="search-input"
            type="search"
            name="q"
            value={text}
            dir="auto"
            autoComplete="off"
            enterKeyHint="search"
            autoFocus={query === ''}
            aria-describedby="search-hint"
            onChange={(event) => setText(event.target.value)}
            // Enter picks characters while an input method composes (Chinese): it does not search.
            onKeyDown={blockComposingEnter}
          />
          <button id="search-submit" type="submit">
            {TEXT.submit}
          </button>
        </div>
        <p id="search-hint" className="hint">
          {room !== null && (
            <span id="search-scope">
              <Isolated message={TEXT.onlyIn} values={[roomName(room, rooms.get(room))]} />
              {' · '}
              <Link href={searchPageHref(query, null)}>{TEXT.everywhere}</Link>
              <br />
            </span>
          )}
          {TEXT.hint}
        </p>
      </form>

      <div id="search-status" role="status" aria-live="polite">
        {state.status === 'searching' && <p className="hint">{TEXT.searching}</p>}
        {state.status === 'found' && state.results.length === 0 && (
          <p id="search-none" className="hint">
            <Isolated message={TEXT.none} values={[query]} />
          </p>
        )}
      </div>
      {state.status === 'failed' && (
        <p id="search-problem" role="alert" className="error">
          {problemText(state.problem)}
        </p>
      )}

      {state.status === 'found' && state.results.length > 0 && (
        <section aria-labelledby="search-results-heading">
          <h2 id="search-results-heading" className="visually-hidden">
            {TEXT.results}
          </h2>
          <ol id="search-results" className="search-results">
            {state.results.map((message) => (
              <SearchResult key={`${message.room} ${message.id}`} message={message} summary={rooms.get(message.room)} now={state.at} />
            ))}
          </ol>
          {state.next !== null && (
            <button id="search-more" type="button" className="small-button" disabled={more.loading} onClick={() => void loadMore()}>
              {more.loading ? TEXT.loadingMore : TEXT.more}
            </button>
          )}
          {more.problem && (
            <p role="alert" className="error">
              {problemText(more.problem)}
            </p>
          )}
        </section>
      )}
    </main>
  );
}

function SearchResult({ message, summary, now }: { readonly message: ChatMessageFrame; readonly summary: RoomSummary | undefined; readonly now: number }) {
  const { t, format } = useI18n();
  const TEXT = t.search;
  return (
    <li className="search-result" data-room={message.room} data-id={message.id}>
      <Link href={messageHref(message)} className="search-result-open">
        <span className="search-result-room">
          <bdi>{roomName(message.room, summary)}</bdi>
          {summary && summary.kind !== 'public' && <span className="room-kind"> · {summary.kind === 'direct' ? TEXT.direct : TEXT.privateRoom}</span>}
        </span>
        {' · '}
        <span className="author">
          <bdi>{message.user}</bdi>
        </span>
        {' · '}
        <time dateTime={new Date(message.ts).toISOString()} title={format.dateTime(message.ts)}>
          {format.relative(message.ts, now)}
        </time>
      </Link>
      <MessageText text={message.message} />
    </li>
  );
}

/** A room as the room list names it (a private room's title, a direct message's other person), or `#name`. */
function roomName(room: string, summary: RoomSummary | undefined): string {
  if (summary) return roomListTitle(summary);
  return isPrivateRoomName(room) ? room : `#${room}`;
}

/** This person's rooms by name, for their titles; empty until (or unless) the list comes. */
function useRoomTitles(): ReadonlyMap<string, RoomSummary> {
  const [rooms, setRooms] = useState<ReadonlyMap<string, RoomSummary>>(() => new Map());
  useEffect(() => {
    let live = true;
    chatApi.rooms().then(
      (list) => {
        if (live) setRooms(new Map(list.map((summary) => [summary.room, summary])));
      },
      () => {
        // Without the list, rooms go by their names.
      },
    );
    return () => {
      live = false;
    };
  }, []);
  return rooms;
}

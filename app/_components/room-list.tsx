'use client';

import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { type FormEvent, useEffect, useState } from 'react';
import { ApiError, chatApi, type RoomSummary, UNREAD_CAP } from '@/lib/client';
import { blockComposingEnter } from './composing';
import { usePageVisible } from './use-page-visible';
import { readySession, useSession } from './use-session';

const TEXT = {
  heading: 'Your rooms',
  loading: 'Loading your rooms…',
  loadFailed: (detail: string) => `Your rooms could not be loaded: ${detail}`,
  none: 'No rooms yet: enter one from the home page, or make a private room.',
  enterRoom: 'Enter a public room',
  noMessages: 'No messages yet',
  unread: (count: string) => `${count} unread`,
  privateRoom: 'private room',
  direct: 'direct message',
  newRoomHeading: 'New private room',
  newRoomLabel: 'Title',
  newRoomHint: 'Only people you invite can read or write in it.',
  create: 'Create',
  creating: 'Creating…',
  createFailed: (detail: string) => `The room was not made: ${detail}`,
  guestPrompt: 'Private rooms and direct messages need an account:',
  signIn: 'sign in or sign up',
} as const;

/** How often the list is asked for again while the page is visible. */
const REFRESH_MS = 10_000;
/** Characters of the last message shown. */
const PREVIEW_CHARS = 80;

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const dateFormat = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric' });

function shortTime(ts: number): string {
  const date = new Date(ts);
  return date.toDateString() === new Date().toDateString() ? timeFormat.format(date) : dateFormat.format(date);
}

function preview(text: string): string {
  const characters = Array.from(text.replace(/\s+/g, ' '));
  return characters.length > PREVIEW_CHARS ? `${characters.slice(0, PREVIEW_CHARS - 1).join('')}…` : characters.join('');
}

export function roomListTitle(room: RoomSummary): string {
  if (room.kind === 'public') return `#${room.room}`;
  if (room.kind === 'direct') return room.peer?.user ?? room.title;
  return room.title || room.room;
}

/** `/rooms/`: the rooms of this person, most recent first, with unread counts; and a new private room. */
export function RoomList() {
  const router = useRouter();
  const session = readySession(useSession());
  const visible = usePageVisible();
  const [rooms, setRooms] = useState<readonly RoomSummary[] | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);

  useEffect(() => {
    if (!visible) return;
    // The list is the server's: asked for when the page shows, then every REFRESH_MS.
    let live = true;
    const load = (): void => {
      chatApi.rooms().then(
        (list) => {
          if (!live) return;
          setRooms(list);
          setLoadError(null);
        },
        (error: unknown) => {
          if (live) setLoadError(error instanceof ApiError ? error.detail || error.code : String(error));
        },
      );
    };
    load();
    const timer = setInterval(load, REFRESH_MS);
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, [visible]);

  return (
    <main className="page">
      <h1>{TEXT.heading}</h1>
      {loadError && (
        <p role="alert" className="error">
          {TEXT.loadFailed(loadError)}
        </p>
      )}
      {rooms === null && !loadError && <p className="hint">{TEXT.loading}</p>}
      {rooms !== null && rooms.length === 0 && <p className="hint">{TEXT.none}</p>}
      {rooms !== null && rooms.length > 0 && (
        <ul id="room-list" className="room-list">
          {rooms.map((room) => (
            <RoomItem key={room.room} room={room} />
          ))}
        </ul>
      )}
      <p>
        <Link href="/">{TEXT.enterRoom}</Link>
      </p>
      {session?.account ? (
        <NewRoomForm onCreated={(room) => router.push(`/chat/${room}/`)} />
      ) : (
        session && (
          <p id="private-rooms-prompt" className="hint">
            {TEXT.guestPrompt} <Link href="/account/?next=/rooms/">{TEXT.signIn}</Link>
          </p>
        )
      )}
    </main>
  );
}

function RoomItem({ room }: { readonly room: RoomSummary }) {
  const count = room.unread >= UNREAD_CAP ? '99+' : String(room.unread);
  return (
    <li className="room-item" data-room={room.room} data-kind={room.kind}>
      <Link href={`/chat/${room.room}/`} className="room-link">
        <span className="room-title">
          <bdi>{roomListTitle(room)}</bdi>
          {room.kind !== 'public' && <span className="room-kind"> · {room.kind === 'direct' ? TEXT.direct : TEXT.privateRoom}</span>}
        </span>
        {room.unread > 0 && (
          <span className="unread-badge" aria-label={TEXT.unread(count)}>
            {count}
          </span>
        )}
        <span className="room-last">
          {room.last ? (
            <>
              <bdi className="room-last-author">{room.last.user}</bdi>: <span className="room-last-text">{preview(room.last.message)}</span>
            </>
          ) : (
            TEXT.noMessages
          )}
        </span>
        {room.last && (
          <time className="room-time" dateTime={new Date(room.last.ts).toISOString()}>
            {shortTime(room.last.ts)}
          </time>
        )}
      </Link>
    </li>
  );
}

function NewRoomForm({ onCreated }: { readonly onCreated: (room: string) => void }) {
  const [title, setTitle] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function submit(event: FormEvent): Promise<void> {
    event.preventDefault();
    if (title.trim() === '') return;
    setBusy(true);
    setError(null);
    try {
      const created = await chatApi.createRoom(title.trim());
      onCreated(created.room);
    } catch (failure) {
      setError(TEXT.createFailed(failure instanceof ApiError ? failure.detail || failure.code : String(failure)));
      setBusy(false);
    }
  }

  return (
    <form id="new-room-form" className="stack-form" aria-labelledby="new-room-heading" onSubmit={(event) => void submit(event)}>
      <h2 id="new-room-heading">{TEXT.newRoomHeading}</h2>
      <label htmlFor="new-room-title">{TEXT.newRoomLabel}</label>
      <div className="row">
        <input
          id="new-room-title"
          value={title}
          required
          maxLength={64}
          dir="auto"
          autoComplete="off"
          aria-describedby={error ? 'new-room-hint new-room-error' : 'new-room-hint'}
          onChange={(event) => setTitle(event.target.value)}
          onKeyDown={blockComposingEnter}
        />
        <button id="new-room-submit" type="submit" disabled={busy}>
          {busy ? TEXT.creating : TEXT.create}
        </button>
      </div>
      <p id="new-room-hint" className="hint">
        {TEXT.newRoomHint}
      </p>
      {error && (
        <p id="new-room-error" role="alert" className="error">
          {error}
        </p>
      )}
    </form>
  );
}

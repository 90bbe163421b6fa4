'use client';

import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { type FormEvent, useEffect, useState } from 'react';
import { ApiError, chatApi, type RoomSummary, UNREAD_CAP } from '@/lib/client';
import { type Formats, useI18n } from '../_i18n/i18n';
import { blockComposingEnter } from './composing';
import { usePageVisible } from './use-page-visible';
import { readySession, useSession } from './use-session';


/** How often the list is asked for again while the page is visible. */
const REFRESH_MS = 10_000;
/** Characters of the last message shown. */
const PREVIEW_CHARS = 80;

const HOUR_MS = 3_600_000;

/** "5 minutes ago" within the hour, the time today, the date before. */
function shortTime(format: Formats, ts: number, now: number): string {
  if (now - ts < HOUR_MS && now >= ts) return format.relative(ts, now);
  return new Date(ts).toDateString() === new Date(now).toDateString() ? format.time(ts) : format.shortDate(ts);
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
  const TEXT = useI18n().t.rooms;
  const router = useRouter();
  const session = readySession(useSession());
  const visible = usePageVisible();
  const [rooms, setRooms] = useState<readonly RoomSummary[] | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  // When the list came: times within the hour are told relative to it.
  const [loadedAt, setLoadedAt] = useState(0);

  useEffect(() => {
    if (!visible) return;
    // The list is the server's: asked for when the page shows, then every REFRESH_MS.
    let live = true;
    const load = (): void => {
      chatApi.rooms().then(
        (list) => {
          if (!live) return;
          setRooms(list);
          setLoadedAt(Date.now());
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
            <RoomItem key={room.room} room={room} now={loadedAt} />
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

function RoomItem({ room, now }: { readonly room: RoomSummary; readonly now: number }) {
  const TEXT = useI18n().t.rooms;
  const { format } = useI18n();
  const count = room.unread >= UNREAD_CAP ? `${format.number(UNREAD_CAP)}+` : format.number(room.unread);
  return (
    <li className="room-item" data-room={room.room} data-kind={room.kind}>
      <Link href={`/chat/${room.room}/`} className="room-link">
        <span className="room-title">
          <bdi>{roomListTitle(room)}</bdi>
          {room.kind !== 'public' && <span className="room-kind"> · {room.kind === 'direct' ? TEXT.direct : TEXT.privateRoom}</span>}
        </span>
        {room.unread > 0 && (
          <span className="unread-badge" aria-label={room.unread >= UNREAD_CAP ? TEXT.unread.other(count) : format.plural(TEXT.unread, room.unread)}>
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
          <time className="room-time" dateTime={new Date(room.last.ts).toISOString()} title={format.dateTime(room.last.ts)}>
            {shortTime(format, room.last.ts, now)}
          </time>
        )}
      </Link>
    </li>
  );
}

function NewRoomForm({ onCreated }: { readonly onCreated: (room: string) => void }) {
  const TEXT = useI18n().t.rooms;
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

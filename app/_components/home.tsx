'use client';

import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { type FormEvent, useState } from 'react';
import { isValidRoomName } from '@/lib/chat/protocol';
import { SESSION_CHANGED_EVENT } from '@/lib/client';
import { useI18n } from '../_i18n/i18n';
import type { Messages } from '../_i18n/messages';
import { blockComposingEnter } from './composing';
import { useRecentRooms } from './use-recent-rooms';
import { useSession } from './use-session';

type HomeError = (home: Messages['home']) => string;

export function Home({ initialName }: { readonly initialName: string }) {
  const router = useRouter();
  const { t: messages } = useI18n();
  const t = messages.home;
  const recentRooms = useRecentRooms();
  const session = useSession();
  // A signed-in person is shown by their user name: there is no display name to change.
  const account = session.status === 'ready' ? session.session.account : null;
  const [name, setName] = useState(initialName);
  const [savedName, setSavedName] = useState(initialName);
  const [room, setRoom] = useState('');
  // Kept as words to say, not said: the language switch changes a message already shown.
  const [error, setError] = useState<HomeError | null>(null);
  const say = (words: HomeError): void => setError(() => words);
  const [busy, setBusy] = useState(false);
  const [privateName, setPrivateName] = useState(false);

  async function saveName(): Promise<boolean> {
    if (account || name.trim() === savedName) return true;
    const response = await fetch('/api/session', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name }),
    });
    const body = (await response.json()) as { user?: string; detail?: string };
    if (!response.ok || body.user === undefined) {
      const detail = body.detail ?? response.statusText;
      say((home) => home.nameNotSaved(detail));
      return false;
    }
    setName(body.user);
    setSavedName(body.user);
    window.dispatchEvent(new Event(SESSION_CHANGED_EVENT));
    return true;
  }

  async function enter(event: FormEvent): Promise<void> {
    event.preventDefault();
    const target = room.trim() || 'lobby';
    setPrivateName(false);
    if (!isValidRoomName(target)) {
      say((home) => home.badRoomName);
      return;
    }
    if (target.startsWith('_')) {
      say((home) => home.privateRoomName);
      setPrivateName(true);
      return;
    }
    setBusy(true);
    setError(null);
    try {
      if (await saveName()) router.push(`/chat/${target}/`);
    } catch {
      say((home) => home.unreachable);
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="home">
      <h1>{messages.appName}</h1>
      <form onSubmit={enter} className="home-form">
        <label htmlFor="display-name-input">{t.displayName}</label>
        <input
          id="display-name-input"
          value={account ? account.username : name}
          maxLength={64}
          dir="auto"
          autoComplete="nickname"
          readOnly={account !== null}
          aria-describedby={account ? 'display-name-account' : undefined}
          onChange={(event) => setName(event.target.value)}
          onKeyDown={blockComposingEnter}
        />
        {account && (
          <p id="display-name-account" className="hint">
            {t.signedInName}
          </p>
        )}
        <label htmlFor="room-name-input">{t.roomQuestion}</label>
        <div className="row">
          <input
            id="room-name-input"
            value={room}
            placeholder="lobby"
            maxLength={64}
            autoFocus
            autoCapitalize="none"
            autoComplete="off"
            spellCheck={false}
            aria-describedby="room-rules"
            onChange={(event) => setRoom(event.target.value)}
            onKeyDown={blockComposingEnter}
          />
          <button id="room-name-submit" type="submit" disabled={busy}>
            {t.enter}
          </button>
        </div>
        <p id="room-rules" className="hint">
          {t.roomRules}
        </p>
        {error && (
          <p role="alert" className="error">
            {error(t)}{' '}
            {privateName && <Link href="/rooms/">{t.yourRooms}</Link>}
          </p>
        )}
      </form>
      {recentRooms.length > 0 && (
        <nav aria-labelledby="recent-rooms-heading">
          <h2 id="recent-rooms-heading">{t.recentRooms}</h2>
          <ul className="recent-rooms">
            {recentRooms.map((recent) => (
              <li key={recent}>
                <Link href={`/chat/${recent}/`}>{recent}</Link>
              </li>
            ))}
          </ul>
        </nav>
      )}
    </main>
  );
}

'use client';

import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { Fragment, type KeyboardEvent, type ReactNode, useEffect, useLayoutEffect, useRef, useState } from 'react';
import { type ChatMessageFrame, codePointLength, MAX_MESSAGE_CHARS, type PresenceUser } from '@/lib/chat/protocol';
import {
  ApiError,
  chatApi,
  type ChatSocket,
  REMOVED_CLOSE_CODE,
  ROOM_NOT_FOUND_CLOSE_CODE,
  type RoomDetails,
  SESSION_ENDED_CLOSE_CODE,
  splitLinks,
  useChatSocket,
} from '@/lib/client';
import { useI18n } from '../_i18n/i18n';
import { RoomMembers } from './room-members';
import { useMessageTarget } from './use-message-target';
import { useRememberRoom } from './use-recent-rooms';
import { usePageVisible, useTimesHidden } from './use-page-visible';
import { isPrivateRoomName, useRoomInfo } from './use-room-info';
import { readySession, useSession } from './use-session';


/** The name a room goes by: a private room's title, the other person of a direct message, or the room's name. */
function roomTitle(room: string, info: RoomDetails | null, myId: string | undefined): string {
  if (!info || info.kind === 'public') return room;
  if (info.kind === 'direct') return info.members.find((member) => member.user_id !== myId)?.user ?? (info.title || room);
  return info.title || room;
}

/** The chat of one room: the log, the composer, who is here, and the connection status. */
export function ChatRoom({ room, at = null }: { readonly room: string; /** A message to show in its place (`?at=`). */ readonly at?: string | null }) {
  const { t: messages, format } = useI18n();
  const TEXT = messages.chat;
  const visible = usePageVisible();
  const timesHidden = useTimesHidden();
  // Messages that arrive while the tab is hidden: counted in the title, and marked in the log by
  // a divider that stays, once the reader is back, until the tab is hidden again.
  const [unseen, setUnseen] = useState({ spell: -1, firstId: null as string | null, count: 0 });
  const chat = useChatSocket(room, {
    onMessage: (message) => {
      if (visible) return;
      setUnseen((previous) =>
        previous.spell === timesHidden
          ? { ...previous, count: previous.count + 1 }
          : { spell: timesHidden, firstId: message.id, count: 1 },
      );
    },
  });
  const rememberRoom = useRememberRoom();
  const router = useRouter();
  const session = readySession(useSession());
  const { info, reload } = useRoomInfo(room);
  const [left, setLeft] = useState(false);
  const myId = chat.me?.userId ?? session?.user_id;
  const privateInfo = info !== null && info.kind !== 'public' ? info : null;
  const title = roomTitle(room, info, myId);
  const closedWith = chat.status === 'closed' ? chat.closeCode : null;
  const shutOut = left || closedWith === REMOVED_CLOSE_CODE || closedWith === ROOM_NOT_FOUND_CLOSE_CODE;
  const target = useMessageTarget(chat, at);

  // Private rooms (named "_…") are not listed among the recent public rooms of the home page.
  useEffect(() => {
    if (!isPrivateRoomName(room)) rememberRoom(room);
  }, [rememberRoom, room]);

  // Someone came or went: the members may have changed (an invite link used, someone left).
  const presenceKey = privateInfo ? chat.presence.map((person) => person.user_id).sort().join(' ') : '';
  const [seenPresenceKey, setSeenPresenceKey] = useState(presenceKey);
  if (presenceKey !== seenPresenceKey) {
    setSeenPresenceKey(presenceKey);
    if (presenceKey !== '') reload();
  }

  const unread = !visible && unseen.spell === timesHidden ? unseen.count : 0;
  useEffect(() => {
    document.title = unread > 0 ? messages.unreadTitle(format.number(unread), title) : messages.pageTitle(title);
  }, [title, unread, messages, format]);

  const canMessagePrivately = session?.account != null && info?.kind !== 'direct' && !shutOut;
  async function messagePrivately(person: PresenceUser): Promise<string | null> {
    try {
      const { room: direct } = await chatApi.openDirect(person.user_id);
      router.push(`/chat/${direct}/`);
      return null;
    } catch (error) {
      if (error instanceof ApiError) return TEXT.dmErrors[error.code]?.(person.user) ?? TEXT.dmFailed(error.detail || error.code);
      return TEXT.dmFailed(String(error));
    }
  }

  return (
    <main className="chat">
      <header className="chat-header">
        <h1>
          <Link href="/" aria-label={TEXT.allRooms}>
            ←
          </Link>{' '}
          <bdi id="room-name">{title}</bdi>
          {privateInfo && <span className="room-kind"> · {privateInfo.kind === 'direct' ? TEXT.direct : TEXT.privateRoom}</span>}
        </h1>
        <Link href={`/search/?room=${encodeURIComponent(room)}`} id="search-room-link" className="search-room-link">
          {TEXT.searchRoom}
        </Link>
        <ConnectionStatus chat={chat} left={left} />
      </header>
      {shutOut && (
        <p id="room-access" className="access-notice">
          {TEXT.shutOutHint}{' '}
          {closedWith === ROOM_NOT_FOUND_CLOSE_CODE && session && !session.account && (
            <>
              {TEXT.guestHint} <Link href={`/account/?next=${encodeURIComponent(`/chat/${room}/`)}`}>{TEXT.signIn}</Link>
              {TEXT.guestHintEnd}{' '}
            </>
          )}
          <Link href="/rooms/">{TEXT.rooms}</Link>
        </p>
      )}
      {privateInfo && !shutOut && <RoomMembers info={privateInfo} myId={myId} reload={reload} onLeft={() => setLeft(true)} />}
      <PresenceList people={chat.presence} myId={chat.me?.userId} />
      {(target.state === 'seeking' || target.state === 'missing') && (
        <p id="target-notice" className="target-notice" role="status">
          {target.state === 'seeking' ? TEXT.findingTarget : TEXT.targetMissing}
        </p>
      )}
      <ChatLog
        chat={chat}
        target={target.id}
        holdScroll={target.state === 'seeking'}
        visible={visible}
        dividerBefore={unseen.spell === timesHidden || visible ? unseen.firstId : null}
        messagePrivately={canMessagePrivately ? messagePrivately : null}
      />
      <TypingIndicator typing={chat.typing} />
      <Composer chat={chat} disabledBecause={shutOut ? (left ? TEXT.left : closedWith === REMOVED_CLOSE_CODE ? TEXT.removed : TEXT.notFound) : null} />
      {chat.me && (
        <p className="whoami">
          {TEXT.youAre}{' '}
          <strong id="my-name">
            <bdi>{chat.me.name}</bdi>
          </strong>
        </p>
      )}
    </main>
  );
}

function ConnectionStatus({ chat, left }: { readonly chat: ChatSocket; readonly left: boolean }) {
  const { t, format } = useI18n();
  const TEXT = t.chat;
  const now = useNow(chat.retryAt !== null);
  let text: string;
  switch (chat.status) {
    case 'connecting':
      text = TEXT.connecting;
      break;
    case 'open':
      text = TEXT.online;
      break;
    case 'reconnecting':
      text = chat.retryAt === null ? TEXT.reconnecting : format.plural(TEXT.reconnectingIn, Math.max(1, Math.ceil((chat.retryAt - now) / 1000)));
      break;
    case 'closed':
      text =
        chat.closeCode === SESSION_ENDED_CLOSE_CODE
          ? TEXT.signedOut
          : left
            ? TEXT.left
            : chat.closeCode === REMOVED_CLOSE_CODE
              ? TEXT.removed
              : chat.closeCode === ROOM_NOT_FOUND_CLOSE_CODE
                ? TEXT.notFound
                : TEXT.offline;
      break;
  }
  return (
    <p id="connection-status" role="status" data-status={chat.status} className={`status status-${chat.status}`}>
      {text}
    </p>
  );
}

/** The current time, ticking every second while `ticking`. */
function useNow(ticking: boolean): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!ticking) return;
    const timer = setInterval(() => setNow(Date.now()), 250);
    return () => clearInterval(timer);
  }, [ticking]);
  return ticking ? now : 0;
}

function PresenceList({ people, myId }: { readonly people: readonly PresenceUser[]; readonly myId: string | undefined }) {
  const { t, format } = useI18n();
  return (
    <section className="presence" aria-labelledby="presence-heading">
      <h2 id="presence-heading">{t.chat.hereNow(format.number(people.length))}</h2>
      <ul id="presence-list">
        {people.map((person) => (
          <li key={person.user_id} data-user-id={person.user_id}>
            <bdi>{person.user}</bdi>
            {person.user_id === myId && ` ${t.chat.you}`}
          </li>
        ))}
      </ul>
    </section>
  );
}

/** Names are isolated (`<bdi>`): one in a right-to-left script, or with digits, cannot reorder the words around it. */
function TypingIndicator({ typing }: { readonly typing: readonly PresenceUser[] }) {
  const { t, format } = useI18n();
  const [first, second] = typing;
  let text: ReactNode = '';
  if (typing.length === 1) text = <><bdi>{first!.user}</bdi> {t.chat.typingOne}</>;
  else if (typing.length === 2) text = <><bdi>{first!.user}</bdi> {t.chat.typingTwoJoin} <bdi>{second!.user}</bdi> {t.chat.typingTwo}</>;
  else if (typing.length > 2) text = format.plural(t.chat.typingMany, typing.length);
  return (
    <p id="typing-indicator" className="typing" aria-live="polite">
      {text}
    </p>
  );
}

type MessagePrivately = (person: PresenceUser) => Promise<string | null>;

function ChatLog({
  chat,
  target,
  holdScroll,
  visible,
  dividerBefore,
  messagePrivately,
}: {
  readonly chat: ChatSocket;
  /** The message shown highlighted (a search result opened), if any. */
  readonly target: string | null;
  /** Older pages are loading to reach `target`: do not follow new messages to the bottom. */
  readonly holdScroll: boolean;
  readonly visible: boolean;
  readonly dividerBefore: string | null;
  /** Opens a direct message with an author (null: not offered, as to guests). */
  readonly messagePrivately: MessagePrivately | null;
}) {
  const { t } = useI18n();
  const TEXT = t.chat;
  const scroller = useRef<HTMLDivElement>(null);
  const pinnedToBottom = useRef(true);
  const previousHeight = useRef(0);
  const previousFirstId = useRef<string | undefined>(undefined);
  const [menuFor, setMenuFor] = useState<string | null>(null);
  const count = chat.messages.length + chat.outbox.length + chat.failed.length;
  const firstId = chat.messages[0]?.id;
  const lastId = chat.messages.at(-1)?.id;
  const { markRead } = chat;

  useLayoutEffect(() => {
    const element = scroller.current;
    if (!element) return;
    if (holdScroll) pinnedToBottom.current = false;
    if (previousFirstId.current !== undefined && firstId !== previousFirstId.current && !pinnedToBottom.current) {
      // An older page went in above: keep the reader's place.
      element.scrollTop += element.scrollHeight - previousHeight.current;
    } else if (pinnedToBottom.current) {
      // Follow new messages, unless the reader has scrolled up to read older ones.
      element.scrollTop = element.scrollHeight;
    }
    previousHeight.current = element.scrollHeight;
    previousFirstId.current = firstId;
  }, [count, firstId, holdScroll]);

  // The newest message is shown to someone looking at the page: the server marks the room read
  // up to it (the client paces the frames).
  useEffect(() => {
    if (visible && pinnedToBottom.current && lastId !== undefined) markRead(lastId);
  }, [visible, lastId, markRead]);

  const ownId = chat.me?.userId;
  return (
    <div
      ref={scroller}
      className="chat-scroller"
      onScroll={(event) => {
        const element = event.currentTarget;
        pinnedToBottom.current = element.scrollHeight - element.scrollTop - element.clientHeight < 40;
        if (pinnedToBottom.current && visible && lastId !== undefined) markRead(lastId);
        if (element.scrollTop < 80 && chat.hasMore) chat.loadOlder();
      }}
    >
      {chat.hasMore && (
        <button type="button" className="load-older" disabled={chat.loadingOlder} onClick={() => chat.loadOlder()}>
          {chat.loadingOlder ? TEXT.loading : TEXT.loadOlder}
        </button>
      )}
      <ol id="chat-log" role="log" aria-live="polite" aria-label={TEXT.messages}>
        {chat.messages.map((message) => (
          <Fragment key={message.id}>
            {message.id === dividerBefore && (
              <li className="unseen-divider" role="separator" aria-label={TEXT.newMessages}>
                {TEXT.newMessages}
              </li>
            )}
            <MessageItem
              message={message}
              target={message.id === target}
              own={message.user_id === ownId}
              menuOpen={menuFor === message.id}
              toggleMenu={
                messagePrivately && message.user_id !== ownId && message.user_id !== 'system'
                  ? () => setMenuFor((open) => (open === message.id ? null : message.id))
                  : null
              }
              messagePrivately={messagePrivately}
            />
          </Fragment>
        ))}
        {chat.outbox.map((pending) => (
          <li key={pending.clientId} className="message own pending" data-client-id={pending.clientId}>
            <p className="text">{pending.text}</p>
            <span className="meta">{chat.status === 'open' ? TEXT.sending : TEXT.waiting}</span>
          </li>
        ))}
        {chat.failed.map((failed) => (
          <li key={failed.clientId} className="message own failed" data-client-id={failed.clientId}>
            <p className="text">{failed.text}</p>
            <span className="meta" role="alert">
              {TEXT.notSent(TEXT.sendErrors[failed.code] ?? failed.detail)}{' '}
              <button type="button" onClick={() => chat.dismiss(failed.clientId)}>
                {TEXT.dismiss}
              </button>
            </span>
          </li>
        ))}
      </ol>
    </div>
  );
}

/**
 * What people wrote is isolated from what stands around it: the author in a `<bdi>` and the text
 * a paragraph of its own (`unicode-bidi: plaintext`), so a right-to-left name or a bidirectional
 * override (`\u202Egnp.exe`) cannot reorder the author, the time or the next message.
 */
function MessageItem({
  message,
  target,
  own,
  menuOpen,
  toggleMenu,
  messagePrivately,
}: {
  readonly message: ChatMessageFrame;
  /** The message opened from a search: highlighted. */
  readonly target: boolean;
  readonly own: boolean;
  readonly menuOpen: boolean;
  /** Opens or closes the actions for the author (null: the name is not a button). */
  readonly toggleMenu: (() => void) | null;
  readonly messagePrivately: MessagePrivately | null;
}) {
  const { t, format } = useI18n();
  const time = new Date(message.ts);
  const system = message.user_id === 'system';
  const menuId = `person-menu-${message.id}`;
  return (
    <li
      className={`message${own ? ' own' : ''}${system ? ' system' : ''}${target ? ' target' : ''}`}
      aria-current={target ? 'true' : undefined}
      data-id={message.id}
      data-user-id={message.user_id}
    >
      <span className="meta">
        <span className="author">
          {toggleMenu ? (
            <button
              type="button"
              className="author-button"
              aria-expanded={menuOpen}
              aria-controls={menuOpen ? menuId : undefined}
              aria-label={t.chat.personActions(message.user)}
              onClick={toggleMenu}
            >
              <bdi>{message.user}</bdi>
            </button>
          ) : (
            <bdi>{message.user}</bdi>
          )}
          {own && ` ${t.chat.you}`}
        </span>{' '}
        <time dateTime={time.toISOString()} title={format.dateTime(message.ts)}>
          {format.time(message.ts)}
        </time>
      </span>
      {menuOpen && messagePrivately && (
        <PersonMenu id={menuId} person={{ user_id: message.user_id, user: message.user }} messagePrivately={messagePrivately} />
      )}
      <MessageText text={message.message} />
    </li>
  );
}

function PersonMenu({ id, person, messagePrivately }: { readonly id: string; readonly person: PresenceUser; readonly messagePrivately: MessagePrivately }) {
  const { t } = useI18n();
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  return (
    <span id={id} className="person-menu">
      <button
        type="button"
        className="small-button"
        disabled={busy}
        onClick={async () => {
          setBusy(true);
          setProblem(await messagePrivately(person));
          setBusy(false);
        }}
      >
        {busy ? t.chat.opening : t.chat.messagePrivately}
      </button>
      {problem && (
        <span role="alert" className="error">
          {' '}
          {problem}
        </span>
      )}
    </span>
  );
}

function Composer({ chat, disabledBecause }: { readonly chat: ChatSocket; readonly disabledBecause: string | null }) {
  const { t, format } = useI18n();
  const [text, setText] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const composingText = useRef(false);

  function submit(): void {
    if (disabledBecause !== null || text.trim() === '') return;
    // Told here, in the reader's language; the client refuses the same text.
    if (codePointLength(text, MAX_MESSAGE_CHARS) > MAX_MESSAGE_CHARS) {
      setProblem(t.chat.tooLong(format.number(MAX_MESSAGE_CHARS)));
      return;
    }
    const result = chat.send(text);
    if (result.ok) {
      setText('');
      setProblem(null);
    } else {
      setProblem(result.error);
    }
  }

  function onKeyDown(event: KeyboardEvent<HTMLTextAreaElement>): void {
    if (event.key !== 'Enter' || event.shiftKey) return;
    // An input method uses Enter to pick characters: while it composes, Enter is not "send".
    if (composingText.current || event.nativeEvent.isComposing || event.keyCode === 229) return;
    event.preventDefault();
    submit();
  }

  return (
    <form
      className="composer"
      onSubmit={(event) => {
        event.preventDefault();
        submit();
      }}
    >
      <label htmlFor="chat-message-input" className="visually-hidden">
        {t.chat.messageLabel}
      </label>
      <textarea
        id="chat-message-input"
        value={text}
        rows={2}
        autoFocus
        disabled={disabledBecause !== null}
        placeholder={disabledBecause ?? t.chat.placeholder}
        aria-describedby={problem ? 'composer-problem' : undefined}
        onChange={(event) => {
          setText(event.target.value);
          if (event.target.value.trim() !== '') chat.sendTyping();
        }}
        onKeyDown={onKeyDown}
        onCompositionStart={() => (composingText.current = true)}
        onCompositionEnd={() => (composingText.current = false)}
      />
      <button id="chat-message-submit" type="submit" disabled={disabledBecause !== null}>
        {t.chat.send}
      </button>
      {problem && (
        <p id="composer-problem" role="alert" className="error">
          {problem}
        </p>
      )}
    </form>
  );
}

/**
 * A message's text with its http(s) addresses as links (splitLinks): React elements, never HTML.
 * The title shows the whole address the link goes to, however it was written.
 */
function MessageText({ text }: { readonly text: string }) {
  return (
    <p className="text">
      {splitLinks(text).map((part, index) =>
        part.kind === 'link' ? (
          <a key={index} href={part.href} title={part.href} target="_blank" rel="noopener noreferrer nofollow">
            {part.text}
          </a>
        ) : (
          <Fragment key={index}>{part.text}</Fragment>
        ),
      )}
    </p>
  );
}

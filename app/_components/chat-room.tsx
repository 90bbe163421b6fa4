'use client';

import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { Fragment, type KeyboardEvent, type ReactNode, useEffect, useLayoutEffect, useMemo, useRef, useState } from 'react';
import { type ChatMessageFrame, codePointLength, compareMessageIds, MAX_MESSAGE_CHARS, type PresenceUser } from '@/lib/chat/protocol';
import {
  ApiError,
  chatApi,
  type ChatSocket,
  REMOVED_CLOSE_CODE,
  ROOM_NOT_FOUND_CLOSE_CODE,
  type RoomDetails,
  SESSION_ENDED_CLOSE_CODE,
  useChatSocket,
} from '@/lib/client';
import { useI18n } from '../_i18n/i18n';
import { type ChangeRefusal, EditedMark, MessageBody, type MessageActionsContext, ReplyBar } from './message-actions';
import { MessageText } from './message-text';
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
  // Messages that arrive while the tab is hidden: counted in the title (until read here or in
  // another tab), and marked in the log by a divider that stays, once the reader is back, until
  // the tab is hidden again.
  const [unseen, setUnseen] = useState({ spell: -1, firstId: null as string | null, ids: [] as readonly string[] });
  const chat = useChatSocket(room, {
    onMessage: (message) => {
      if (visible) return;
      setUnseen((previous) =>
        previous.spell === timesHidden
          ? { ...previous, ids: [...previous.ids, message.id] }
          : { spell: timesHidden, firstId: message.id, ids: [message.id] },
      );
    },
  });
  const rememberRoom = useRememberRoom();
  const router = useRouter();
  const session = readySession(useSession());
  const { info, reload } = useRoomInfo(room);
  const [left, setLeft] = useState(false);
  // The message the next one sent answers (the bar above the composer).
  const [replyTo, setReplyTo] = useState<ChatMessageFrame | null>(null);
  const myId = chat.me?.userId ?? session?.user_id;
  const myMarker = myId === undefined ? undefined : chat.readMarkers.get(myId);
  // Where this person had read to when the room opened here: the "new messages" divider goes
  // before the first message of someone else after it, and stays while the room is open.
  const [markerAtOpen, setMarkerAtOpen] = useState<string | null>(null);
  if (markerAtOpen === null && myMarker !== undefined) setMarkerAtOpen(myMarker);
  const unreadSinceOpen =
    markerAtOpen === null ? undefined : chat.messages.find((message) => compareMessageIds(message.id, markerAtOpen) > 0 && message.user_id !== myId && message.user_id !== 'system');
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

  const unread =
    !visible && unseen.spell === timesHidden ? unseen.ids.filter((id) => myMarker === undefined || compareMessageIds(id, myMarker) > 0).length : 0;
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
        dividerBefore={(unseen.spell === timesHidden || visible ? unseen.firstId : null) ?? unreadSinceOpen?.id ?? null}
        seen={privateInfo ? seenUnder(chat.messages, chat.readMarkers, privateInfo.members, myId) : NO_SEEN}
        seenInDirect={privateInfo?.kind === 'direct'}
        messagePrivately={canMessagePrivately ? messagePrivately : null}
        moderator={info?.kind === 'private' && info.role === 'owner'}
        canAct={!shutOut}
        onReply={(message) => {
          setReplyTo(message);
          document.getElementById('chat-message-input')?.focus();
        }}
      />
      <TypingIndicator typing={chat.typing} />
      <Composer
        chat={chat}
        disabledBecause={shutOut ? (left ? TEXT.left : closedWith === REMOVED_CLOSE_CODE ? TEXT.removed : TEXT.notFound) : null}
        replyTo={replyTo && !shutOut ? (chat.messages.find((message) => message.id === replyTo.id) ?? replyTo) : null}
        cancelReply={() => setReplyTo(null)}
      />
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

const NO_SEEN: ReadonlyMap<string, readonly string[]> = new Map();

/**
 * Who has read up to each message, for "seen" in private rooms and direct messages: every other
 * member under the newest message at or before their marker (their names, by message id).
 */
function seenUnder(
  messages: readonly ChatMessageFrame[],
  markers: ReadonlyMap<string, string>,
  members: readonly { readonly user_id: string; readonly user: string }[],
  myId: string | undefined,
): ReadonlyMap<string, readonly string[]> {
  const seen = new Map<string, string[]>();
  if (messages.length === 0) return seen;
  for (const member of members) {
    const marker = markers.get(member.user_id);
    if (member.user_id === myId || marker === undefined || compareMessageIds(marker, messages[0]!.id) < 0) continue;
    let index = messages.length - 1;
    while (index > 0 && compareMessageIds(messages[index]!.id, marker) > 0) index--;
    const id = messages[index]!.id;
    seen.set(id, [...(seen.get(id) ?? []), member.user]);
  }
  return seen;
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
      text = chat.transport === 'fallback' ? TEXT.onlineFallback : TEXT.online;
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
    <p
      id="connection-status"
      role="status"
      data-status={chat.status}
      data-transport={chat.transport}
      className={`status status-${chat.status}`}
      title={chat.status === 'open' && chat.transport === 'fallback' ? TEXT.fallbackHint : undefined}
    >
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
  seen,
  seenInDirect,
  messagePrivately,
  moderator,
  canAct,
  onReply,
}: {
  readonly chat: ChatSocket;
  /** The message shown highlighted (a search result opened), if any. */
  readonly target: string | null;
  /** Older pages are loading to reach `target`: do not follow new messages to the bottom. */
  readonly holdScroll: boolean;
  readonly visible: boolean;
  readonly dividerBefore: string | null;
  /** Others who have read up to each message (by id), in private rooms and direct messages. */
  readonly seen: ReadonlyMap<string, readonly string[]>;
  /** A direct message: "Seen", without the one name. */
  readonly seenInDirect: boolean;
  /** Opens a direct message with an author (null: not offered, as to guests). */
  readonly messagePrivately: MessagePrivately | null;
  /** May delete anyone's message (the owner of a private room). */
  readonly moderator: boolean;
  /** Messages can be replied to, reacted to, edited and deleted (false once shut out of the room). */
  readonly canAct: boolean;
  readonly onReply: (message: ChatMessageFrame) => void;
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
  // A refusal stays in the snapshot: the reader dismisses it (or acts again).
  const [dismissedRefusal, setDismissedRefusal] = useState<ChangeRefusal | null>(null);
  const refusal = chat.changeRefused !== dismissedRefusal ? chat.changeRefused : null;
  const names = useMemo(() => {
    const known = new Map<string, string>();
    for (const message of chat.messages) {
      if (message.reply_to) known.set(message.reply_to.user_id, message.reply_to.user);
      known.set(message.user_id, message.user);
    }
    for (const person of chat.presence) known.set(person.user_id, person.user);
    if (chat.me) known.set(chat.me.userId, chat.me.name);
    return known;
  }, [chat.messages, chat.presence, chat.me]);
  const ids = useMemo(() => new Set(chat.messages.map((message) => message.id)), [chat.messages]);
  const actions: MessageActionsContext = {
    myId: ownId,
    editWindowMs: chat.limits?.edit_window_ms ?? null,
    moderator,
    enabled: canAct,
    names,
    edit: chat.edit,
    remove: chat.remove,
    react: chat.react,
    reply: onReply,
    inLog: (id) => ids.has(id),
    jumpTo: (id) => {
      const element = scroller.current?.querySelector<HTMLElement>(`li[data-id="${CSS.escape(id)}"]`);
      if (!element) return false;
      const reduceMotion = window.matchMedia('(prefers-reduced-motion: reduce)').matches;
      element.scrollIntoView({ block: 'center', behavior: reduceMotion ? 'auto' : 'smooth' });
      element.focus({ preventScroll: true });
      // A short glow says which message it is (restarted when jumped to again).
      element.classList.remove('jumped');
      void element.offsetWidth;
      element.classList.add('jumped');
      element.addEventListener('animationend', () => element.classList.remove('jumped'), { once: true });
      return true;
    },
    refusal,
    dismissRefusal: () => setDismissedRefusal(chat.changeRefused),
  };
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
      <ol id="chat-log" role="log" aria-live="polite" aria-label={TEXT.messages} data-read-up-to={chat.me ? chat.readMarkers.get(chat.me.userId) : undefined}>
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
              actions={actions}
            />
            {seen.has(message.id) && <SeenBy names={seen.get(message.id)!} direct={seenInDirect} />}
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
      {refusal && !ids.has(refusal.id) && (
        <p className="error change-problem" role="alert">
          {t.messageActions.refused(TEXT.sendErrors[refusal.code] ?? refusal.detail)}{' '}
          <button type="button" className="small-button" onClick={() => setDismissedRefusal(refusal)}>
            {TEXT.dismiss}
          </button>
        </p>
      )}
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
  actions,
}: {
  readonly message: ChatMessageFrame;
  /** The message opened from a search: highlighted. */
  readonly target: boolean;
  readonly own: boolean;
  readonly menuOpen: boolean;
  /** Opens or closes the actions for the author (null: the name is not a button). */
  readonly toggleMenu: (() => void) | null;
  readonly messagePrivately: MessagePrivately | null;
  /** Reply, react, edit, delete (see message-actions.tsx). */
  readonly actions: MessageActionsContext;
}) {
  const { t, format } = useI18n();
  const time = new Date(message.ts);
  const system = message.user_id === 'system';
  const menuId = `person-menu-${message.id}`;
  return (
    <li
      className={`message${own ? ' own' : ''}${system ? ' system' : ''}${message.deleted ? ' deleted' : ''}${target ? ' target' : ''}`}
      aria-current={target ? 'true' : undefined}
      data-id={message.id}
      data-user-id={message.user_id}
      // Focused when a reply's quote leads here.
      tabIndex={-1}
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
        <EditedMark message={message} />
      </span>
      {menuOpen && messagePrivately && (
        <PersonMenu id={menuId} person={{ user_id: message.user_id, user: message.user }} messagePrivately={messagePrivately} />
      )}
      <MessageBody message={message} text={<MessageText text={message.message} />} context={actions} />
    </li>
  );
}

/** "Seen by 小明 and Bo" under a message; a lone reader of a direct message is just "Seen". */
function SeenBy({ names, direct }: { readonly names: readonly string[]; readonly direct: boolean }) {
  const { t, format } = useI18n();
  return (
    <li className="seen" data-seen-by={names.join('\n')}>
      {direct ? (
        t.chat.seen
      ) : (
        <>
          {t.chat.seenBy}{' '}
          {format.listParts(names).map((part, index) => (part.type === 'element' ? <bdi key={index}>{part.value}</bdi> : <Fragment key={index}>{part.value}</Fragment>))}
        </>
      )}
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

function Composer({
  chat,
  disabledBecause,
  replyTo,
  cancelReply,
}: {
  readonly chat: ChatSocket;
  readonly disabledBecause: string | null;
  /** The message the next one answers, as it reads now. */
  readonly replyTo: ChatMessageFrame | null;
  readonly cancelReply: () => void;
}) {
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
    const result = chat.send(text, replyTo ? { replyTo: replyTo.id } : {});
    if (result.ok) {
      setText('');
      setProblem(null);
      cancelReply();
    } else {
      setProblem(result.error);
    }
  }

  function onKeyDown(event: KeyboardEvent<HTMLTextAreaElement>): void {
    if (event.key === 'Escape' && replyTo && !composingText.current && !event.nativeEvent.isComposing && event.keyCode !== 229) {
      event.preventDefault();
      cancelReply();
      return;
    }
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
      {replyTo && (
        <ReplyBar
          message={replyTo}
          onCancel={() => {
            cancelReply();
            document.getElementById('chat-message-input')?.focus();
          }}
        />
      )}
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
        aria-describedby={[replyTo ? 'reply-bar' : '', problem ? 'composer-problem' : ''].filter(Boolean).join(' ') || undefined}
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

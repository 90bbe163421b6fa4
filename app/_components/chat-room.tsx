'use client';

import Link from 'next/link';
import { Fragment, type KeyboardEvent, type ReactNode, useEffect, useLayoutEffect, useRef, useState } from 'react';
import type { ChatMessageFrame, PresenceUser } from '@/lib/chat/protocol';
import { type ChatSocket, SESSION_ENDED_CLOSE_CODE, useChatSocket } from '@/lib/client';
import { useRememberRoom } from './use-recent-rooms';
import { usePageVisible, useTimesHidden } from './use-page-visible';

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });

/** The chat of one room: the log, the composer, who is here, and the connection status. */
export function ChatRoom({ room }: { readonly room: string }) {
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
  useEffect(() => rememberRoom(room), [rememberRoom, room]);

  const unread = !visible && unseen.spell === timesHidden ? unseen.count : 0;
  useEffect(() => {
    document.title = unread > 0 ? `(${unread}) ${room} · Channels Chat` : `${room} · Channels Chat`;
  }, [room, unread]);

  return (
    <main className="chat">
      <header className="chat-header">
        <h1>
          <Link href="/" aria-label="All rooms">
            ←
          </Link>{' '}
          <span id="room-name">{room}</span>
        </h1>
        <ConnectionStatus chat={chat} />
      </header>
      <PresenceList people={chat.presence} myId={chat.me?.userId} />
      <ChatLog chat={chat} dividerBefore={unseen.spell === timesHidden || visible ? unseen.firstId : null} />
      <TypingIndicator typing={chat.typing} />
      <Composer chat={chat} />
      {chat.me && (
        <p className="whoami">
          You are{' '}
          <strong id="my-name">
            <bdi>{chat.me.name}</bdi>
          </strong>
        </p>
      )}
    </main>
  );
}

function ConnectionStatus({ chat }: { readonly chat: ChatSocket }) {
  const now = useNow(chat.retryAt !== null);
  let text: string;
  switch (chat.status) {
    case 'connecting':
      text = 'Connecting…';
      break;
    case 'open':
      text = 'Online';
      break;
    case 'reconnecting':
      text = chat.retryAt === null ? 'Reconnecting…' : `Reconnecting in ${Math.max(1, Math.ceil((chat.retryAt - now) / 1000))} s…`;
      break;
    case 'closed':
      text = chat.closeCode === SESSION_ENDED_CLOSE_CODE ? 'Signed out: reload the page to chat again' : 'Offline';
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
  return (
    <section className="presence" aria-labelledby="presence-heading">
      <h2 id="presence-heading">Here now ({people.length})</h2>
      <ul id="presence-list">
        {people.map((person) => (
          <li key={person.user_id} data-user-id={person.user_id}>
            <bdi>{person.user}</bdi>
            {person.user_id === myId && ' (you)'}
          </li>
        ))}
      </ul>
    </section>
  );
}

/** Names are isolated (`<bdi>`): one in a right-to-left script, or with digits, cannot reorder the words around it. */
function TypingIndicator({ typing }: { readonly typing: readonly PresenceUser[] }) {
  const [first, second] = typing;
  let text: ReactNode = '';
  if (typing.length === 1) text = <><bdi>{first!.user}</bdi> is typing…</>;
  else if (typing.length === 2) text = <><bdi>{first!.user}</bdi> and <bdi>{second!.user}</bdi> are typing…</>;
  else if (typing.length > 2) text = `${typing.length} people are typing…`;
  return (
    <p id="typing-indicator" className="typing" aria-live="polite">
      {text}
    </p>
  );
}

function ChatLog({ chat, dividerBefore }: { readonly chat: ChatSocket; readonly dividerBefore: string | null }) {
  const scroller = useRef<HTMLDivElement>(null);
  const pinnedToBottom = useRef(true);
  const previousHeight = useRef(0);
  const previousFirstId = useRef<string | undefined>(undefined);
  const count = chat.messages.length + chat.outbox.length + chat.failed.length;
  const firstId = chat.messages[0]?.id;

  useLayoutEffect(() => {
    const element = scroller.current;
    if (!element) return;
    if (previousFirstId.current !== undefined && firstId !== previousFirstId.current && !pinnedToBottom.current) {
      // An older page went in above: keep the reader's place.
      element.scrollTop += element.scrollHeight - previousHeight.current;
    } else if (pinnedToBottom.current) {
      // Follow new messages, unless the reader has scrolled up to read older ones.
      element.scrollTop = element.scrollHeight;
    }
    previousHeight.current = element.scrollHeight;
    previousFirstId.current = firstId;
  }, [count, firstId]);

  const ownId = chat.me?.userId;
  return (
    <div
      ref={scroller}
      className="chat-scroller"
      onScroll={(event) => {
        const element = event.currentTarget;
        pinnedToBottom.current = element.scrollHeight - element.scrollTop - element.clientHeight < 40;
        if (element.scrollTop < 80 && chat.hasMore) chat.loadOlder();
      }}
    >
      {chat.hasMore && (
        <button type="button" className="load-older" disabled={chat.loadingOlder} onClick={() => chat.loadOlder()}>
          {chat.loadingOlder ? 'Loading…' : 'Load older messages'}
        </button>
      )}
      <ol id="chat-log" role="log" aria-live="polite" aria-label="Messages">
        {chat.messages.map((message) => (
          <Fragment key={message.id}>
            {message.id === dividerBefore && (
              <li className="unseen-divider" role="separator" aria-label="New messages">
                New messages
              </li>
            )}
            <MessageItem message={message} own={message.user_id === ownId} />
          </Fragment>
        ))}
        {chat.outbox.map((pending) => (
          <li key={pending.clientId} className="message own pending" data-client-id={pending.clientId}>
            <p className="text">{pending.text}</p>
            <span className="meta">{chat.status === 'open' ? 'Sending…' : 'Waiting for the connection…'}</span>
          </li>
        ))}
        {chat.failed.map((failed) => (
          <li key={failed.clientId} className="message own failed" data-client-id={failed.clientId}>
            <p className="text">{failed.text}</p>
            <span className="meta" role="alert">
              Not sent: {failed.detail}{' '}
              <button type="button" onClick={() => chat.dismiss(failed.clientId)}>
                Dismiss
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
function MessageItem({ message, own }: { readonly message: ChatMessageFrame; readonly own: boolean }) {
  const time = new Date(message.ts);
  const system = message.user_id === 'system';
  return (
    <li className={`message${own ? ' own' : ''}${system ? ' system' : ''}`} data-id={message.id}>
      <span className="meta">
        <span className="author">
          <bdi>{message.user}</bdi>
          {own && ' (you)'}
        </span>{' '}
        <time dateTime={time.toISOString()}>{timeFormat.format(time)}</time>
      </span>
      <p className="text">{message.message}</p>
    </li>
  );
}

function Composer({ chat }: { readonly chat: ChatSocket }) {
  const [text, setText] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const composingText = useRef(false);

  function submit(): void {
    if (text.trim() === '') return;
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
        Message
      </label>
      <textarea
        id="chat-message-input"
        value={text}
        rows={2}
        autoFocus
        placeholder="Message (Enter to send, Shift+Enter for a new line)"
        aria-describedby={problem ? 'composer-problem' : undefined}
        onChange={(event) => {
          setText(event.target.value);
          if (event.target.value.trim() !== '') chat.sendTyping();
        }}
        onKeyDown={onKeyDown}
        onCompositionStart={() => (composingText.current = true)}
        onCompositionEnd={() => (composingText.current = false)}
      />
      <button id="chat-message-submit" type="submit">
        Send
      </button>
      {problem && (
        <p id="composer-problem" role="alert" className="error">
          {problem}
        </p>
      )}
    </form>
  );
}

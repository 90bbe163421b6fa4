'use client';

import Link from 'next/link';
import { type KeyboardEvent, useEffect, useLayoutEffect, useRef, useState } from 'react';
import type { ChatMessageFrame } from '@/lib/chat/protocol';
import { type ChatSocket, useChatSocket } from '@/lib/client';
import { useRememberRoom } from './use-recent-rooms';

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });

/** The chat of one room: the log, the composer and the connection status. */
export function ChatRoom({ room }: { readonly room: string }) {
  const chat = useChatSocket(room);
  const rememberRoom = useRememberRoom();
  useEffect(() => rememberRoom(room), [rememberRoom, room]);

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
      <ChatLog chat={chat} />
      <Composer chat={chat} />
      {chat.me && (
        <p className="whoami">
          You are <strong id="my-name">{chat.me.name}</strong>
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
      text = 'Offline';
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

function ChatLog({ chat }: { readonly chat: ChatSocket }) {
  const scroller = useRef<HTMLDivElement>(null);
  const pinnedToBottom = useRef(true);
  const count = chat.messages.length + chat.outbox.length + chat.failed.length;

  // Follow new messages, unless the reader has scrolled up to read older ones.
  useLayoutEffect(() => {
    const element = scroller.current;
    if (element && pinnedToBottom.current) element.scrollTop = element.scrollHeight;
  }, [count]);

  const ownId = chat.me?.userId;
  return (
    <div
      ref={scroller}
      className="chat-scroller"
      onScroll={(event) => {
        const element = event.currentTarget;
        pinnedToBottom.current = element.scrollHeight - element.scrollTop - element.clientHeight < 40;
      }}
    >
      {chat.hasMore && (
        <button type="button" className="load-older" onClick={() => chat.loadOlder()}>
          Load older messages
        </button>
      )}
      <ol id="chat-log" role="log" aria-live="polite" aria-label="Messages">
        {chat.messages.map((message) => (
          <MessageItem key={message.id} message={message} own={message.user_id === ownId} />
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

function MessageItem({ message, own }: { readonly message: ChatMessageFrame; readonly own: boolean }) {
  const time = new Date(message.ts);
  const system = message.user_id === 'system';
  return (
    <li className={`message${own ? ' own' : ''}${system ? ' system' : ''}`} data-id={message.id}>
      <span className="meta">
        <span className="author">{own ? `${message.user} (you)` : message.user}</span>{' '}
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
        onChange={(event) => setText(event.target.value)}
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

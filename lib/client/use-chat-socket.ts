import { useEffect, useEffectEvent, useState, useSyncExternalStore } from 'react';
import type { ChatMessageFrame } from '../chat/protocol';
import { ChatClient, type ChatSnapshot } from './chat-client';

export interface ChatSocket extends ChatSnapshot {
  /** Queues a message; see `ChatClient.send`. */
  readonly send: ChatClient['send'];
  readonly dismiss: ChatClient['dismiss'];
  readonly loadOlder: ChatClient['loadOlder'];
  readonly sendTyping: ChatClient['sendTyping'];
  readonly markRead: ChatClient['markRead'];
  /** Edits one of this user's messages; see `ChatClient.edit`. */
  readonly edit: ChatClient['edit'];
  /** Deletes a message; see `ChatClient.remove`. */
  readonly remove: ChatClient['remove'];
  /** Puts on, takes off or toggles a reaction; see `ChatClient.react`. */
  readonly react: ChatClient['react'];
}

export interface UseChatSocketOptions {
  /** Called for each new live message; may change every render without reconnecting. */
  readonly onMessage?: (message: ChatMessageFrame) => void;
}

/** The socket URL of a room on the page's own host. */
export function chatSocketUrl(location: Pick<Location, 'protocol' | 'host'>, room: string): string {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  return `${scheme}://${location.host}/ws/chat/${encodeURIComponent(room)}/`;
}

/**
 * The chat of one room, as React state: a thin view over a `ChatClient` that lives as long as
 * the component. Re-renders never reconnect; StrictMode's double mount and Fast Refresh keep the
 * same socket. Give the component a `key` of the room to switch rooms.
 *
 * ```tsx
 * function Room({ room }: { room: string }) {
 *   const chat = useChatSocket(room, { onMessage: (m) => announce(m) });
 *   return <ChatLog messages={chat.messages} onSend={(text) => chat.send(text)} />;
 * }
 * ```
 */
export function useChatSocket(room: string, options: UseChatSocketOptions = {}): ChatSocket {
  const [client] = useState(() => new ChatClient({ room, url: () => chatSocketUrl(window.location, room) }));
  // The server renders (and hydration starts from) "connecting", what the page shows first.
  const [serverSnapshot] = useState<ChatSnapshot>(() => ({ ...client.getSnapshot(), status: 'connecting' }));
  const snapshot = useSyncExternalStore(client.subscribe, client.getSnapshot, () => serverSnapshot);
  const [actions] = useState(() => ({
    send: client.send.bind(client),
    dismiss: client.dismiss.bind(client),
    loadOlder: client.loadOlder.bind(client),
    sendTyping: client.sendTyping.bind(client),
    markRead: client.markRead.bind(client),
    edit: client.edit.bind(client),
    remove: client.remove.bind(client),
    react: client.react.bind(client),
  }));
  const onMessage = useEffectEvent((message: ChatMessageFrame) => options.onMessage?.(message));

  useEffect(() => {
    client.hold();
    const stopListening = client.onMessage((message) => onMessage(message));
    return () => {
      stopListening();
      client.release();
    };
  }, [client]);

  return { ...snapshot, ...actions };
}

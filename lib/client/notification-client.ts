import { type Backoff, ChannelSocket, type Timers, type WebSocketFactory } from 'next-channels/client';
import { type NotificationFrame, parseServerFrame } from '../chat/protocol';

/** A notification as shown: the frame, and a key to dismiss it by. */
export interface ShownNotification extends NotificationFrame {
  readonly key: number;
}

/** What a mention's title is made of, for a client to say it in its reader's language. */
export type MentionParts =
  | { readonly from: string; readonly roomKind: 'public'; readonly room: string }
  | { readonly from: string; readonly roomKind: 'private'; readonly title: string }
  | { readonly from: string; readonly roomKind: 'direct' };

/**
 * The parts of a mention notification's title (`from`, `room_kind`, `room_title`), or null when
 * it is not a mention or a server that does not send them wrote it: then show its `title`.
 */
export function mentionParts(notification: NotificationFrame): MentionParts | null {
  const { kind, from, room, room_kind: roomKind, room_title: title } = notification;
  if (kind !== 'mention' || typeof from !== 'string' || from === '') return null;
  switch (roomKind) {
    case 'public':
      return typeof room === 'string' && room !== '' ? { from, roomKind, room } : null;
    case 'private':
      return typeof title === 'string' && title !== '' ? { from, roomKind, title } : null;
    case 'direct':
      return { from, roomKind };
    default:
      return null;
  }
}

export interface NotificationClientOptions {
  /** The socket URL, such as `ws://localhost:3000/ws/notifications/` (a function: read when connecting). */
  readonly url: string | (() => string);
  readonly createSocket?: WebSocketFactory;
  readonly backoff?: Backoff;
  readonly timers?: Timers;
  readonly now?: () => number;
  /** At most this many shown at once; the oldest go first (default 5). */
  readonly maxShown?: number;
}

/**
 * The person's notifications, from `/ws/notifications/`: push only, so it stays connected through
 * the framework's `ChannelSocket` (reconnecting, pinging, stopping when the session ends) and
 * keeps the latest few.
 */
export class NotificationClient {
  readonly #socket: ChannelSocket;
  readonly #maxShown: number;
  readonly #listeners = new Set<() => void>();
  #shown: readonly ShownNotification[] = [];
  #nextKey = 1;

  constructor(options: NotificationClientOptions) {
    const { maxShown, ...socketOptions } = options;
    this.#maxShown = maxShown ?? 5;
    this.#socket = new ChannelSocket({ pingAfterMs: 25_000, ...socketOptions });
    this.#socket.onText((text) => {
      const frame = parseServerFrame(text);
      if (frame?.type === 'notification') this.#set([...this.#shown, { ...frame, key: this.#nextKey++ }].slice(-this.#maxShown));
      // The message it pointed to was deleted: its text must not stay on screen.
      else if (frame?.type === 'notification.retract') {
        const kept = this.#shown.filter((shown) => shown.room !== frame.room || shown.message_id !== frame.message_id);
        if (kept.length !== this.#shown.length) this.#set(kept);
      }
    });
  }

  getSnapshot = (): readonly ShownNotification[] => this.#shown;

  subscribe = (listener: () => void): (() => void) => {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  };

  /** Whether the notification socket is open now (notifications sent while it is not are missed). */
  getConnected = (): boolean => this.#socket.getSnapshot().status === 'open';

  /** Calls `listener` when the socket's state may have changed (for `getConnected`). */
  subscribeConnected = (listener: () => void): (() => void) => this.#socket.subscribe(listener);

  connect(): void {
    this.#socket.connect();
  }

  close(): void {
    this.#socket.close();
  }

  /** Opens a new connection (the session changed, so the groups to join did). */
  reconnect(): void {
    if (this.#socket.getSnapshot().status !== 'closed') this.#socket.reconnect();
  }

  dismiss(key: number): void {
    this.#set(this.#shown.filter((notification) => notification.key !== key));
  }

  #set(shown: readonly ShownNotification[]): void {
    this.#shown = shown;
    for (const listener of this.#listeners) listener();
  }
}

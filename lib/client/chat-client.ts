import {
  type ChatMessageFrame,
  codePointLength,
  compareMessageIds,
  type ErrorCode,
  type EventFrame,
  isPermanentError,
  type Limits,
  MAX_MESSAGE_CHARS,
  parseServerFrame,
  type PresenceUser,
  type ServerFrame,
} from '../chat/protocol';
import {
  type Backoff,
  ChannelSocket,
  CloseCode,
  globalTimers,
  type FallbackMode,
  type SocketStatus,
  type Timers,
  type Transport,
  type WakeUpSignals,
  type WebSocketFactory,
} from 'next-channels/client';
import { MessageLog } from './message-log';
import { type FailedMessage, Outbox, type PendingMessage } from './outbox';
import { browserOutboxStorage, type OutboxStorage, randomClientId } from './platform';
import { TypingTracker } from './typing-tracker';

/**
 * - `connecting`: the first attempt, before the server's welcome;
 * - `open`: welcomed; messages flow;
 * - `reconnecting`: the connection was lost; waiting (`retryAt`) or trying again;
 * - `closed`: closed by `close()`, or by the server in a way that says "do not come back".
 */
export const CONNECTION_STATUSES: readonly SocketStatus[] = ['connecting', 'open', 'reconnecting', 'closed'];
export type ConnectionStatus = SocketStatus;

export interface ChatSnapshot {
  readonly status: ConnectionStatus;
  /** Which transport carries the connection: `fallback` where the network refused the WebSocket upgrade. */
  readonly transport: Transport;
  /** When the next reconnect attempt starts (ms since the epoch), while waiting for it. */
  readonly retryAt: number | null;
  readonly room: string;
  readonly me: { readonly userId: string; readonly name: string } | null;
  /** Unique by id, in id order. */
  readonly messages: readonly ChatMessageFrame[];
  readonly outbox: readonly PendingMessage[];
  readonly failed: readonly FailedMessage[];
  /** Whether older messages than the first shown exist on the server. */
  readonly hasMore: boolean;
  /** An older page has been asked for and has not arrived yet. */
  readonly loadingOlder: boolean;
  /** The room's latest page has come (once a connection was welcomed): `messages` then says what the room holds. */
  readonly historyLoaded: boolean;
  /** The people in the room (one entry per person, however many tabs). */
  readonly presence: readonly PresenceUser[];
  /** Others typing right now. */
  readonly typing: readonly PresenceUser[];
  readonly limits: Limits | null;
  /** The close code that ended the connection for good (status `closed`); 4401: the session ended. */
  readonly closeCode: number | null;
  /** The server's reason with `closeCode`. */
  readonly closeReason: string | null;
  /**
   * How far people have read the room, by user id (a message or event id): this person's own
   * marker, kept in step across their tabs and devices, and in private rooms and direct messages
   * every member's. Markers only move forward.
   */
  readonly readMarkers: ReadonlyMap<string, string>;
  /** The last edit, deletion or reaction of this user that the server refused, and why. */
  readonly changeRefused: { readonly id: string; readonly code: ErrorCode; readonly detail: string } | null;
}

export interface ChatClientOptions {
  readonly room: string;
  /** The socket URL, such as `ws://localhost:3000/ws/chat/lobby/` (a function: read when connecting). */
  readonly url: string | (() => string);
  /** Makes sockets; defaults to the global `WebSocket` (Node 20 has none: pass `ws`). */
  readonly createSocket?: WebSocketFactory;
  /** Makes the HTTP fallback's sockets (default: the framework's, over `fetch`). */
  readonly createFallback?: WebSocketFactory;
  /** When to use the HTTP fallback (default: `auto` in a browser; see `ChannelSocketOptions.fallback`). */
  readonly fallback?: FallbackMode;
  /** Delay before reconnect attempt n (1, 2, ...); capped exponential with full jitter by default. */
  readonly backoff?: Backoff;
  /** After this long without a frame, ask the server for a pong (default 20 s). */
  readonly pingAfterMs?: number;
  /** A connection that stays silent this long after a ping is dead (default 10 s). */
  readonly pongTimeoutMs?: number;
  /**
   * When the tab becomes visible again, a quiet connection is pinged at once and is dead if
   * silent this long (default 3 s): after a sleep the socket may be long gone.
   */
  readonly wakeUpPongTimeoutMs?: number;
  /** A handshake not completed, or a connection not welcomed, within this long is given up and retried (default 10 s). */
  readonly connectTimeoutMs?: number;
  /** A connection that ends sooner than this after opening counts as a failure for the backoff (default 5 s). */
  readonly stableAfterMs?: number;
  /** Keeps unacknowledged messages across reloads (default: the tab's sessionStorage). */
  readonly outboxStorage?: OutboxStorage;
  /** How long someone shows as typing after their last notice (default 5 s). */
  readonly typingShownMs?: number;
  /** At most one typing notice from here this often (default 2 s, the server's pace). */
  readonly typingEveryMs?: number;
  /** At most one read marker from here this often (default 1 s). */
  readonly readEveryMs?: number;
  readonly timers?: Timers;
  readonly now?: () => number;
  readonly newClientId?: () => string;
  readonly wakeUpSignals?: WakeUpSignals;
}

/** The server's close when the session was signed out or revoked (see docs/protocol.md). */
export const SESSION_ENDED_CLOSE_CODE = CloseCode.SessionEnded;
/** The server's close for a private room this person is not in, or a room that does not exist. */
export const ROOM_NOT_FOUND_CLOSE_CODE = CloseCode.NotFound;
/** The server's close, at once, to a member removed from a private room (or who left it). */
export const REMOVED_CLOSE_CODE = CloseCode.Forbidden;

type Listener = () => void;

/**
 * The chat of one room over the framework's `ChannelSocket`, which reconnects, backs off, pings
 * and stops on the close codes that say why. What is the chat's is here: the welcome, the
 * exactly-once log of messages (unique by id, in id order, resumed with `?after=`), the outbox of
 * what the user typed until the server acknowledges it (kept across reloads), history pages,
 * presence and typing. Framework-free; React reads it through `useChatSocket`.
 */
export class ChatClient {
  readonly #options: ChatClientOptions;
  readonly #timers: Timers;
  readonly #now: () => number;
  readonly #socket: ChannelSocket;
  readonly #listeners = new Set<Listener>();
  readonly #messageListeners = new Set<(message: ChatMessageFrame) => void>();
  #snapshot: ChatSnapshot;
  readonly #log = new MessageLog();
  readonly #typing: TypingTracker;
  readonly #outbox: Outbox;
  readonly #storage: OutboxStorage;
  /** The server's welcome came on this connection: the room is joined. */
  #welcomed = false;
  #socketStatus: SocketStatus = 'closed';
  /** Runs from the socket's open until the welcome: a server that accepts and says nothing is given up. */
  #welcomeTimer: unknown = null;
  #lastTypingSentAt = Number.NEGATIVE_INFINITY;
  /** The newest message id the reader has seen, and the newest told to the server. */
  #readWanted: string | null = null;
  #readSent: string | null = null;
  #lastReadSentAt = Number.NEGATIVE_INFINITY;
  #readTimer: unknown = null;
  /** The server does not know read markers (an older version): they are not sent again. */
  #readUnsupported = false;
  /** Edits, deletions and reactions sent, by their `client_id` → the message they are about. */
  readonly #changes = new Map<string, string>();

  constructor(options: ChatClientOptions) {
    this.#options = options;
    this.#timers = options.timers ?? globalTimers;
    this.#storage = options.outboxStorage ?? browserOutboxStorage;
    this.#outbox = new Outbox(this.#storage.load(options.room));
    this.#now = options.now ?? Date.now;
    this.#socket = new ChannelSocket({
      url: options.url,
      // Resume after the last message seen below any gap, so whatever was missed comes again.
      resume: () => ({ after: this.#log.resumeAfter }),
      timers: this.#timers,
      now: this.#now,
      ...(options.createSocket ? { createSocket: options.createSocket } : {}),
      ...(options.createFallback ? { createFallback: options.createFallback } : {}),
      ...(options.fallback ? { fallback: options.fallback } : {}),
      ...(options.backoff ? { backoff: options.backoff } : {}),
      ...(options.wakeUpSignals ? { wakeUpSignals: options.wakeUpSignals } : {}),
      pingAfterMs: options.pingAfterMs ?? 20_000,
      pongTimeoutMs: options.pongTimeoutMs ?? 10_000,
      wakeUpPongTimeoutMs: options.wakeUpPongTimeoutMs ?? 3_000,
      connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
      ...(options.stableAfterMs !== undefined ? { stableAfterMs: options.stableAfterMs } : {}),
    });
    this.#socket.onText((text) => {
      const frame = parseServerFrame(text);
      if (frame) this.#handle(frame);
    });
    this.#socket.subscribe(() => this.#socketChanged());
    this.#typing = new TypingTracker(this.#timers, options.typingShownMs ?? 5_000, () => this.#update({ typing: this.#typing.people }));
    this.#snapshot = {
      status: 'closed',
      transport: 'websocket',
      retryAt: null,
      room: options.room,
      me: null,
      messages: [],
      outbox: this.#outbox.pending,
      failed: [],
      hasMore: false,
      loadingOlder: false,
      historyLoaded: false,
      presence: [],
      typing: [],
      limits: null,
      closeCode: null,
      closeReason: null,
      changeRefused: null,
      readMarkers: new Map(),
    };
  }

  getSnapshot = (): ChatSnapshot => this.#snapshot;

  subscribe = (listener: Listener): (() => void) => {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  };

  /** Hears each new message as it arrives live (not those loaded as history). */
  onMessage(listener: (message: ChatMessageFrame) => void): () => void {
    this.#messageListeners.add(listener);
    return () => this.#messageListeners.delete(listener);
  }

  /** Opens the connection (again, after `close`). */
  connect(): void {
    this.#socket.connect();
  }

  /** Closes for good; `connect` starts again. */
  close(): void {
    this.#socket.close();
  }

  /**
   * Keeps the connection open while anyone holds it. The last `release` closes it a moment later
   * rather than at once, so React StrictMode's unmount-and-mount and Fast Refresh's re-run of
   * effects do not drop the socket.
   */
  hold(): void {
    this.#socket.hold();
  }

  release(): void {
    this.#socket.release();
  }

  /**
   * Queues a message; it shows in the outbox at once and leaves as soon as a connection is up.
   * Returns its `client_id`, or an error for text the server would refuse anyway.
   */
  send(text: string, options: { readonly replyTo?: string } = {}): { ok: true; clientId: string } | { ok: false; error: string } {
    const refused = textError(text);
    if (refused !== null) return { ok: false, error: refused };
    const clientId = (this.#options.newClientId ?? randomClientId)();
    const pending = this.#outbox.add(clientId, text, options.replyTo);
    if (this.#snapshot.status === 'open') this.#transmit(pending);
    this.#update({ outbox: this.#outbox.pending });
    return { ok: true, clientId };
  }

  /**
   * Edits one of this user's messages. Sent at once when connected (false otherwise: nothing is
   * queued, the user tries again); the change shows when the server's `chat.edit` comes back, and
   * a refusal (someone else's message, past the edit window) lands in `changeRefused`.
   */
  edit(messageId: string, text: string): boolean {
    if (textError(text) !== null) return false;
    return this.#change({ type: 'chat.edit', id: messageId, text });
  }

  /** Deletes a message (this user's own, or any as a private room's owner); see `edit`. */
  remove(messageId: string): boolean {
    return this.#change({ type: 'chat.delete', id: messageId });
  }

  /** Puts on (`on`), takes off, or toggles this user's reaction `emoji` to a message; see `edit`. */
  react(messageId: string, emoji: string, on?: boolean): boolean {
    return this.#change({ type: 'chat.react', id: messageId, emoji, ...(on === undefined ? {} : { on }) });
  }

  #change(frame: Record<string, unknown>): boolean {
    if (this.#snapshot.status !== 'open') return false;
    const clientId = `x-${(this.#options.newClientId ?? randomClientId)()}`;
    this.#changes.set(clientId, String(frame.id));
    if (this.#changes.size > MAX_CHANGES_TRACKED) this.#changes.delete(this.#changes.keys().next().value!);
    return this.#socket.sendText(JSON.stringify({ ...frame, client_id: clientId }));
  }

  /** Forgets a failed message (the user has read why). */
  dismiss(clientId: string): void {
    this.#outbox.dismiss(clientId);
    this.#update({ failed: this.#outbox.failed });
  }

  /** Asks for the page before the oldest message shown (once at a time). */
  loadOlder(): void {
    const oldest = this.#log.oldest;
    const snapshot = this.#snapshot;
    if (snapshot.status !== 'open' || !oldest || !snapshot.hasMore || snapshot.loadingOlder) return;
    this.#socket.sendText(JSON.stringify({ type: 'history', before: oldest.id }));
    this.#update({ loadingOlder: true });
  }

  /** Tells the room this user is typing; call it on every keystroke, it paces itself. */
  sendTyping(): void {
    const now = this.#now();
    if (this.#snapshot.status !== 'open' || now - this.#lastTypingSentAt < (this.#options.typingEveryMs ?? 2_000)) return;
    this.#lastTypingSentAt = now;
    this.#socket.sendText('{"type":"typing"}');
  }

  /**
   * Tells the server the newest message the reader has seen in this room (call it whenever the
   * page is visible and that message is shown; it paces itself to one frame a second, sends only
   * ids newer than the last, and waits for a connection).
   */
  markRead(messageId: string): void {
    const newest = this.#readWanted ?? this.#readSent;
    if (newest !== null && compareMessageIds(messageId, newest) <= 0) return;
    this.#readWanted = messageId;
    this.#flushRead();
  }

  #flushRead(): void {
    const wanted = this.#readWanted;
    if (wanted === null || this.#readUnsupported || !this.#welcomed || this.#readTimer !== null) return;
    const wait = this.#lastReadSentAt + (this.#options.readEveryMs ?? 1_000) - this.#now();
    if (wait > 0) {
      this.#readTimer = this.#timers.setTimeout(() => {
        this.#readTimer = null;
        this.#flushRead();
      }, wait);
      return;
    }
    if (this.#socket.sendText(JSON.stringify({ type: 'read', id: wanted }))) {
      this.#lastReadSentAt = this.#now();
      this.#readSent = wanted;
      this.#readWanted = null;
    }
  }

  // ---- connection ----

  /**
   * Follows the socket: `open` waits for the welcome (the room is joined then); a lost or closed
   * connection takes presence, typing and an older page asked for with it, and puts what was on
   * the wire back in the outbox.
   */
  #socketChanged(): void {
    const socket = this.#socket.getSnapshot();
    const was = this.#socketStatus;
    this.#socketStatus = socket.status;
    if (was === 'open' && socket.status !== 'open') {
      this.#clearWelcomeTimer();
      this.#connectionLost(socket.closeCode);
    }
    if (was !== 'open' && socket.status === 'open') {
      this.#welcomeTimer = this.#timers.setTimeout(() => {
        this.#welcomeTimer = null;
        if (!this.#welcomed) this.#socket.dropConnection();
      }, this.#options.connectTimeoutMs ?? 10_000);
    }
    const status = socket.status === 'open' && !this.#welcomed ? (this.#snapshot.status === 'open' ? 'reconnecting' : this.#snapshot.status) : socket.status;
    if (
      status !== this.#snapshot.status ||
      socket.retryAt !== this.#snapshot.retryAt ||
      socket.closeCode !== this.#snapshot.closeCode ||
      socket.transport !== this.#snapshot.transport
    ) {
      this.#update({ status, retryAt: socket.retryAt, closeCode: socket.closeCode, closeReason: socket.closeReason, transport: socket.transport });
    }
  }

  #connectionLost(closeCode: number | null): void {
    this.#welcomed = false;
    this.#outbox.requeueSent();
    this.#typing.clear();
    // What the signed-out person typed is not sent later under whoever comes next; nor is what
    // someone removed from a private room typed, should they be let in again.
    const why = closeCode === null ? undefined : UNSENDABLE_AFTER_CLOSE[closeCode];
    if (why !== undefined) {
      for (const pending of this.#outbox.pending) this.#outbox.fail(pending.clientId, 'unavailable', why);
    }
    // Who is here and typing is unknown until the next welcome; an older page asked for is lost.
    this.#update({ presence: [], typing: [], loadingOlder: false, outbox: this.#outbox.pending, failed: this.#outbox.failed });
  }

  #handle(frame: ServerFrame): void {
    switch (frame.type) {
      case 'welcome':
        this.#welcomed = true;
        this.#clearWelcomeTimer();
        this.#update({ status: 'open', retryAt: null, me: { userId: frame.user_id, name: frame.user }, limits: frame.limits });
        for (const pending of this.#outbox.pending) this.#transmit(pending);
        this.#update({ outbox: this.#outbox.pending });
        this.#flushRead();
        return;
      case 'history': {
        // has_more speaks of messages older than this frame's: it matters for the join page, an
        // older page asked for, or a reset, not for the newer messages a resume brings.
        const extendsBack = frame.reset === true || this.#snapshot.loadingOlder || this.#log.oldest === undefined;
        if (frame.reset) this.#log.clear();
        // A page asked for holds older messages: they say nothing of what came since.
        const older = this.#snapshot.loadingOlder && frame.reset !== true && frame.head === undefined;
        if (frame.head !== undefined) this.#log.reached(frame.head);
        for (const message of frame.messages) this.#log.add(message, !older);
        // Events after the messages: each is about an earlier message, maybe one in this frame.
        for (const event of frame.events ?? []) this.#log.apply(event);
        this.#update({
          messages: this.#log.messages,
          hasMore: extendsBack ? frame.has_more : this.#snapshot.hasMore,
          loadingOlder: false,
          historyLoaded: true,
        });
        return;
      }
      case 'chat.message': {
        const fresh = this.#log.add(frame);
        this.#acknowledge(frame);
        this.#typing.stop(frame.user_id);
        this.#update({ messages: this.#log.messages, outbox: this.#outbox.pending, typing: this.#typing.people });
        if (fresh) for (const listener of this.#messageListeners) listener(frame);
        return;
      }
      case 'chat.edit':
      case 'chat.delete':
      case 'chat.reaction':
        this.#applyEvent(frame);
        return;
      case 'presence':
        this.#update({ presence: frame.users });
        return;
      case 'read': {
        const known = this.#snapshot.readMarkers.get(frame.user_id);
        if (known !== undefined && compareMessageIds(frame.id, known) <= 0) return;
        this.#update({ readMarkers: new Map(this.#snapshot.readMarkers).set(frame.user_id, frame.id) });
        if (frame.user_id === this.#snapshot.me?.userId && (this.#readSent === null || compareMessageIds(frame.id, this.#readSent) > 0)) {
          // Read in another tab: there is no need to say so again from here.
          this.#readSent = frame.id;
          if (this.#readWanted !== null && compareMessageIds(this.#readWanted, frame.id) <= 0) this.#readWanted = null;
        }
        return;
      }
      case 'typing':
        this.#typing.start({ user_id: frame.user_id, user: frame.user });
        this.#update({ typing: this.#typing.people });
        return;
      case 'error':
        if (frame.client_id !== undefined && this.#changes.has(frame.client_id)) {
          this.#update({ changeRefused: { id: this.#changes.get(frame.client_id)!, code: frame.code, detail: frame.detail } });
          this.#changes.delete(frame.client_id);
        } else if (frame.client_id !== undefined) this.#refused(frame.client_id, frame.code, frame.detail);
        else if (frame.code === 'unknown_type' && frame.detail.includes('"read"')) this.#readUnsupported = true;
        return;
      default:
        return;
    }
  }

  // ---- messages ----

  #applyEvent(event: EventFrame): void {
    if (this.#log.apply(event)) this.#update({ messages: this.#log.messages });
  }

  #transmit(pending: PendingMessage): void {
    if (!this.#welcomed) return;
    const frame = { type: 'chat.message', message: pending.text, client_id: pending.clientId, ...(pending.replyTo === undefined ? {} : { reply_to: pending.replyTo }) };
    if (this.#socket.sendText(JSON.stringify(frame))) {
      this.#outbox.markSent(pending.clientId);
    }
  }

  #acknowledge(message: ChatMessageFrame): void {
    if (message.client_id === undefined || message.user_id !== this.#snapshot.me?.userId) return;
    this.#outbox.acknowledge(message.client_id);
  }

  #refused(clientId: string, code: ErrorCode, detail: string): void {
    if (isPermanentError(code)) {
      if (this.#outbox.fail(clientId, code, detail)) this.#update({ outbox: this.#outbox.pending, failed: this.#outbox.failed });
      return;
    }
    // Transient: keep it and send it again after a pause.
    this.#outbox.requeue(clientId);
    this.#update({ outbox: this.#outbox.pending });
    this.#timers.setTimeout(() => {
      const still = this.#outbox.queued(clientId);
      if (still && this.#snapshot.status === 'open') {
        this.#transmit(still);
        this.#update({ outbox: this.#outbox.pending });
      }
    }, Math.max(0, (this.#options.backoff ?? defaultRetryPause)(1)) + 1_000);
  }

  #clearWelcomeTimer(): void {
    if (this.#welcomeTimer !== null) this.#timers.clearTimeout(this.#welcomeTimer);
    this.#welcomeTimer = null;
  }

  #update(changes: Partial<ChatSnapshot>): void {
    if (changes.outbox !== undefined && changes.outbox !== this.#snapshot.outbox) this.#storage.save(this.#options.room, changes.outbox);
    this.#snapshot = { ...this.#snapshot, ...changes };
    for (const listener of this.#listeners) listener();
  }
}

/** Edits, deletions and reactions whose refusal is still told apart, at most. */
const MAX_CHANGES_TRACKED = 100;

/** Why the server would refuse a message's or an edit's text; `null` when it would not. */
function textError(text: string): string | null {
  if (text.trim() === '') return 'message is empty';
  if (codePointLength(text, MAX_MESSAGE_CHARS) > MAX_MESSAGE_CHARS) return `message is longer than ${MAX_MESSAGE_CHARS} characters`;
  return null;
}

/** Why messages still in the outbox are given up when the server closes with a code. */
const UNSENDABLE_AFTER_CLOSE: Readonly<Record<number, string>> = {
  [SESSION_ENDED_CLOSE_CODE]: 'you were signed out before it was sent',
  [REMOVED_CLOSE_CODE]: 'you were removed from this room before it was sent',
  [ROOM_NOT_FOUND_CLOSE_CODE]: 'no such room, or you are not a member',
};

/** The pause before a transiently refused message goes again, when no backoff is given (up to 0.5 s, plus 1 s). */
const defaultRetryPause: Backoff = () => Math.floor(Math.random() * 500);

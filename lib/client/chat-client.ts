import {
  type ChatMessageFrame,
  codePointLength,
  compareMessageIds,
  type ErrorCode,
  isPermanentError,
  type Limits,
  MAX_MESSAGE_CHARS,
  parseServerFrame,
  type PresenceUser,
  type ServerFrame,
} from '../chat/protocol';
import { type Backoff, exponentialBackoff } from './backoff';

/** What a `WebSocket` (the browser's, or `ws` in Node) must offer the client. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: never) => void) | null;
  onmessage: ((event: { readonly data: unknown }) => void) | null;
  onclose: ((event: { readonly code: number }) => void) | null;
  onerror: ((event: never) => void) | null;
}

export type WebSocketFactory = (url: string) => WebSocketLike;

export interface Timers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Browser signals that make a reconnect worth trying at once; returns an unsubscribe. */
export type WakeUpSignals = (wake: (reason: 'online' | 'visible') => void) => () => void;

/**
 * - `connecting`: the first attempt, before the server's welcome;
 * - `open`: welcomed; messages flow;
 * - `reconnecting`: the connection was lost; waiting (`retryAt`) or trying again;
 * - `closed`: closed by `close()`, or by the server in a way that says "do not come back".
 */
export const CONNECTION_STATUSES = ['connecting', 'open', 'reconnecting', 'closed'] as const;
export type ConnectionStatus = (typeof CONNECTION_STATUSES)[number];

/** A message typed here that the server has not acknowledged yet. */
export interface PendingMessage {
  readonly clientId: string;
  readonly text: string;
  /** `queued`: waiting for a connection or a retry; `sent`: on the wire, waiting for its echo. */
  readonly state: 'queued' | 'sent';
}

/** A message the server refused for good (too long, invalid): it will not be sent again. */
export interface FailedMessage {
  readonly clientId: string;
  readonly text: string;
  readonly code: ErrorCode;
  readonly detail: string;
}

export interface ChatSnapshot {
  readonly status: ConnectionStatus;
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
  /** The people in the room (one entry per person, however many tabs). */
  readonly presence: readonly PresenceUser[];
  /** Others typing right now. */
  readonly typing: readonly PresenceUser[];
  readonly limits: Limits | null;
}

export interface ChatClientOptions {
  readonly room: string;
  /** The socket URL, such as `ws://localhost:3000/ws/chat/lobby/` (a function: read when connecting). */
  readonly url: string | (() => string);
  /** Makes sockets; defaults to the global `WebSocket` (Node 20 has none: pass `ws`). */
  readonly createSocket?: WebSocketFactory;
  /** Delay before reconnect attempt n (1, 2, ...); capped exponential with full jitter by default. */
  readonly backoff?: Backoff;
  /** After this long without a frame, ask the server for a pong (default 20 s). */
  readonly pingAfterMs?: number;
  /** A connection that stays silent this long after a ping is dead (default 10 s). */
  readonly pongTimeoutMs?: number;
  /** How long someone shows as typing after their last notice (default 5 s). */
  readonly typingShownMs?: number;
  /** At most one typing notice from here this often (default 2 s, the server's pace). */
  readonly typingEveryMs?: number;
  readonly timers?: Timers;
  readonly now?: () => number;
  readonly newClientId?: () => string;
  readonly wakeUpSignals?: WakeUpSignals;
}

/** Close codes after which reconnecting would only repeat the problem. */
const FINAL_CLOSE_CODES: ReadonlySet<number> = new Set([1000, 1003, 1007, 1008, 1009]);
const OPEN = 1;

type Listener = () => void;

/**
 * A chat connection that keeps itself alive: reconnects with backoff when the connection drops
 * (a refused handshake looks the same as a network failure to a browser), notices a dead line
 * with `ping`, and keeps what the user typed in an outbox until the server acknowledges it, so
 * nothing typed offline or cut off mid-flight is lost or sent twice. Framework-free; React reads
 * it through `useChatSocket`.
 */
export class ChatClient {
  readonly #options: ChatClientOptions;
  readonly #timers: Timers;
  readonly #now: () => number;
  readonly #backoff: Backoff;
  readonly #listeners = new Set<Listener>();
  readonly #messageListeners = new Set<(message: ChatMessageFrame) => void>();
  #socket: WebSocketLike | null = null;
  #snapshot: ChatSnapshot;
  #messages: ChatMessageFrame[] = [];
  readonly #ids = new Set<string>();
  #outbox: PendingMessage[] = [];
  #failures = 0;
  #retryTimer: unknown = null;
  #heartbeatTimer: unknown = null;
  #lastFrameAt = 0;
  #pingSentAt: number | null = null;
  #releaseTimer: unknown = null;
  readonly #typingTimers = new Map<string, unknown>();
  #lastTypingSentAt = Number.NEGATIVE_INFINITY;
  #holders = 0;
  #stopWakeUps: (() => void) | null = null;

  constructor(options: ChatClientOptions) {
    this.#options = options;
    this.#timers = options.timers ?? { setTimeout: (callback, ms) => setTimeout(callback, ms), clearTimeout: (handle) => clearTimeout(handle as number) };
    this.#now = options.now ?? Date.now;
    this.#backoff = options.backoff ?? exponentialBackoff();
    this.#snapshot = {
      status: 'closed',
      retryAt: null,
      room: options.room,
      me: null,
      messages: [],
      outbox: [],
      failed: [],
      hasMore: false,
      loadingOlder: false,
      presence: [],
      typing: [],
      limits: null,
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
    if (this.#snapshot.status !== 'closed') return;
    this.#stopWakeUps = (this.#options.wakeUpSignals ?? browserWakeUpSignals)((reason) => this.#wakeUp(reason));
    this.#update({ status: 'connecting', retryAt: null });
    this.#openSocket();
  }

  /** Closes for good; `connect` starts again. */
  close(): void {
    this.#clearTimers();
    for (const timer of this.#typingTimers.values()) this.#timers.clearTimeout(timer);
    this.#typingTimers.clear();
    this.#stopWakeUps?.();
    this.#stopWakeUps = null;
    this.#dropSocket(1000);
    if (this.#snapshot.status !== 'closed') this.#update({ status: 'closed', retryAt: null });
  }

  /**
   * Keeps the connection open while anyone holds it. The last `release` closes it a moment later
   * rather than at once, so React StrictMode's unmount-and-mount and Fast Refresh's re-run of
   * effects do not drop the socket.
   */
  hold(): void {
    this.#holders++;
    if (this.#releaseTimer !== null) {
      this.#timers.clearTimeout(this.#releaseTimer);
      this.#releaseTimer = null;
    }
    this.connect();
  }

  release(): void {
    this.#holders = Math.max(0, this.#holders - 1);
    if (this.#holders > 0 || this.#releaseTimer !== null) return;
    this.#releaseTimer = this.#timers.setTimeout(() => {
      this.#releaseTimer = null;
      if (this.#holders === 0) this.close();
    }, 0);
  }

  /**
   * Queues a message; it shows in the outbox at once and leaves as soon as a connection is up.
   * Returns its `client_id`, or an error for text the server would refuse anyway.
   */
  send(text: string): { ok: true; clientId: string } | { ok: false; error: string } {
    if (text.trim() === '') return { ok: false, error: 'message is empty' };
    if (codePointLength(text, MAX_MESSAGE_CHARS) > MAX_MESSAGE_CHARS) {
      return { ok: false, error: `message is longer than ${MAX_MESSAGE_CHARS} characters` };
    }
    const clientId = (this.#options.newClientId ?? randomClientId)();
    const pending: PendingMessage = { clientId, text, state: 'queued' };
    this.#outbox = [...this.#outbox, pending];
    if (this.#snapshot.status === 'open') this.#transmit(pending);
    this.#update({ outbox: this.#outbox });
    return { ok: true, clientId };
  }

  /** Forgets a failed message (the user has read why). */
  dismiss(clientId: string): void {
    this.#update({ failed: this.#snapshot.failed.filter((failed) => failed.clientId !== clientId) });
  }

  /** Asks for the page of messages before the oldest one shown (once at a time). */
  loadOlder(): void {
    const oldest = this.#messages[0];
    const snapshot = this.#snapshot;
    if (snapshot.status !== 'open' || !oldest || !snapshot.hasMore || snapshot.loadingOlder) return;
    this.#socket?.send(JSON.stringify({ type: 'history', before: oldest.id }));
    this.#update({ loadingOlder: true });
  }

  /** Tells the room this user is typing; call it on every keystroke, it paces itself. */
  sendTyping(): void {
    const now = this.#now();
    if (this.#snapshot.status !== 'open' || now - this.#lastTypingSentAt < (this.#options.typingEveryMs ?? 2_000)) return;
    this.#lastTypingSentAt = now;
    this.#socket?.send('{"type":"typing"}');
  }

  // ---- connection ----

  #openSocket(): void {
    const last = this.#messages.at(-1);
    const base = typeof this.#options.url === 'function' ? this.#options.url() : this.#options.url;
    const url = last ? `${base}${base.includes('?') ? '&' : '?'}after=${last.id}` : base;
    let socket: WebSocketLike;
    try {
      socket = (this.#options.createSocket ?? browserSocket)(url);
    } catch {
      this.#connectionLost(1006);
      return;
    }
    this.#socket = socket;
    socket.onmessage = (event) => {
      if (this.#socket === socket) this.#onFrame(event.data);
    };
    socket.onclose = (event) => {
      if (this.#socket === socket) this.#connectionLost(event.code);
    };
    socket.onerror = () => {
      // 'close' follows with the code; nothing more to learn here.
    };
  }

  #onFrame(data: unknown): void {
    this.#lastFrameAt = this.#now();
    this.#pingSentAt = null;
    if (typeof data !== 'string') return;
    const frame = parseServerFrame(data);
    if (frame) this.#handle(frame);
  }

  #handle(frame: ServerFrame): void {
    switch (frame.type) {
      case 'welcome':
        this.#failures = 0;
        this.#update({ status: 'open', retryAt: null, me: { userId: frame.user_id, name: frame.user }, limits: frame.limits });
        this.#armHeartbeat(this.#pingAfterMs());
        for (const pending of this.#outbox) this.#transmit(pending);
        this.#update({ outbox: this.#outbox });
        return;
      case 'history': {
        // has_more speaks of messages older than this frame's: it matters for the join page, an
        // older page asked for, or a reset, not for the newer messages a resume brings.
        const extendsBack = frame.reset === true || this.#snapshot.loadingOlder || this.#messages.length === 0;
        if (frame.reset) {
          this.#messages = [];
          this.#ids.clear();
        }
        for (const message of frame.messages) this.#remember(message);
        this.#update({
          messages: this.#messages,
          hasMore: extendsBack ? frame.has_more : this.#snapshot.hasMore,
          loadingOlder: false,
        });
        return;
      }
      case 'chat.message': {
        const fresh = this.#remember(frame);
        this.#acknowledge(frame);
        this.#stopTyping(frame.user_id);
        this.#update({ messages: this.#messages, outbox: this.#outbox, typing: this.#snapshot.typing });
        if (fresh) for (const listener of this.#messageListeners) listener(frame);
        return;
      }
      case 'presence':
        this.#update({ presence: frame.users });
        return;
      case 'typing':
        this.#startTyping({ user_id: frame.user_id, user: frame.user });
        return;
      case 'error':
        if (frame.client_id !== undefined) this.#refused(frame.client_id, frame.code, frame.detail);
        return;
      default:
        return;
    }
  }

  #connectionLost(code: number): void {
    this.#socket = null;
    this.#clearHeartbeat();
    this.#pingSentAt = null;
    this.#outbox = this.#outbox.map((pending) => (pending.state === 'sent' ? { ...pending, state: 'queued' } : pending));
    for (const timer of this.#typingTimers.values()) this.#timers.clearTimeout(timer);
    this.#typingTimers.clear();
    // Who is here and typing is unknown until the next welcome; an older page asked for is lost.
    this.#update({ presence: [], typing: [], loadingOlder: false });
    if (FINAL_CLOSE_CODES.has(code)) {
      this.#stopWakeUps?.();
      this.#stopWakeUps = null;
      this.#update({ status: 'closed', retryAt: null, outbox: this.#outbox });
      return;
    }
    this.#failures++;
    const delay = Math.max(0, this.#backoff(this.#failures));
    this.#update({ status: 'reconnecting', retryAt: this.#now() + delay, outbox: this.#outbox });
    this.#retryTimer = this.#timers.setTimeout(() => this.#retryNow(), delay);
  }

  #retryNow(): void {
    if (this.#retryTimer !== null) this.#timers.clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
    this.#update({ retryAt: null });
    this.#openSocket();
  }

  #wakeUp(reason: 'online' | 'visible'): void {
    const status = this.#snapshot.status;
    if (status === 'reconnecting' && this.#retryTimer !== null) this.#retryNow();
    else if (status === 'open' && reason === 'visible' && this.#now() - this.#lastFrameAt >= this.#pingAfterMs()) this.#ping();
  }

  /** Drops the current socket without waiting for its close handshake. */
  #dropSocket(code: number): void {
    const socket = this.#socket;
    this.#socket = null;
    if (!socket) return;
    socket.onmessage = null;
    socket.onclose = null;
    try {
      socket.close(code);
    } catch {
      // Already closing.
    }
  }

  // ---- liveness ----

  #pingAfterMs(): number {
    return this.#options.pingAfterMs ?? 20_000;
  }

  #armHeartbeat(ms: number): void {
    this.#clearHeartbeat();
    this.#heartbeatTimer = this.#timers.setTimeout(() => this.#heartbeat(), ms);
  }

  #heartbeat(): void {
    this.#heartbeatTimer = null;
    if (this.#snapshot.status !== 'open') return;
    const now = this.#now();
    if (this.#pingSentAt !== null) {
      // Nothing arrived since the ping: the line is dead even if the socket has not noticed.
      this.#dropSocket(4000);
      this.#connectionLost(1006);
      return;
    }
    const quietFor = now - this.#lastFrameAt;
    if (quietFor >= this.#pingAfterMs()) this.#ping();
    else this.#armHeartbeat(this.#pingAfterMs() - quietFor);
  }

  #ping(): void {
    this.#pingSentAt = this.#now();
    this.#socket?.send('{"type":"ping"}');
    this.#armHeartbeat(this.#options.pongTimeoutMs ?? 10_000);
  }

  // ---- messages ----

  #transmit(pending: PendingMessage): void {
    const socket = this.#socket;
    if (!socket || socket.readyState !== OPEN) return;
    socket.send(JSON.stringify({ type: 'chat.message', message: pending.text, client_id: pending.clientId }));
    this.#outbox = this.#outbox.map((entry) => (entry.clientId === pending.clientId ? { ...entry, state: 'sent' } : entry));
  }

  /** Adds a message in id order; false when it was already there. */
  #remember(message: ChatMessageFrame): boolean {
    if (this.#ids.has(message.id)) return false;
    this.#ids.add(message.id);
    const messages = this.#messages.slice();
    let index = messages.length;
    while (index > 0 && compareMessageIds(messages[index - 1]!.id, message.id) > 0) index--;
    messages.splice(index, 0, message);
    this.#messages = messages;
    return true;
  }

  #acknowledge(message: ChatMessageFrame): void {
    if (message.client_id === undefined || message.user_id !== this.#snapshot.me?.userId) return;
    this.#outbox = this.#outbox.filter((pending) => pending.clientId !== message.client_id);
  }

  #refused(clientId: string, code: ErrorCode, detail: string): void {
    const pending = this.#outbox.find((entry) => entry.clientId === clientId);
    if (!pending) return;
    if (isPermanentError(code)) {
      this.#outbox = this.#outbox.filter((entry) => entry.clientId !== clientId);
      this.#update({ outbox: this.#outbox, failed: [...this.#snapshot.failed, { clientId, text: pending.text, code, detail }] });
      return;
    }
    // Transient: keep it and send it again after a pause.
    this.#outbox = this.#outbox.map((entry) => (entry.clientId === clientId ? { ...entry, state: 'queued' } : entry));
    this.#update({ outbox: this.#outbox });
    this.#timers.setTimeout(() => {
      const still = this.#outbox.find((entry) => entry.clientId === clientId && entry.state === 'queued');
      if (still && this.#snapshot.status === 'open') {
        this.#transmit(still);
        this.#update({ outbox: this.#outbox });
      }
    }, Math.max(0, this.#backoff(1)) + 1_000);
  }

  // ---- typing ----

  #startTyping(person: PresenceUser): void {
    const previous = this.#typingTimers.get(person.user_id);
    if (previous !== undefined) this.#timers.clearTimeout(previous);
    this.#typingTimers.set(
      person.user_id,
      this.#timers.setTimeout(() => {
        this.#stopTyping(person.user_id);
        this.#update({ typing: this.#snapshot.typing });
      }, this.#options.typingShownMs ?? 5_000),
    );
    const others = this.#snapshot.typing.filter((entry) => entry.user_id !== person.user_id);
    this.#update({ typing: [...others, person] });
  }

  /** Forgets that someone is typing; the caller publishes the snapshot. */
  #stopTyping(userId: string): void {
    const timer = this.#typingTimers.get(userId);
    if (timer === undefined) return;
    this.#timers.clearTimeout(timer);
    this.#typingTimers.delete(userId);
    this.#snapshot = { ...this.#snapshot, typing: this.#snapshot.typing.filter((entry) => entry.user_id !== userId) };
  }

  // ---- plumbing ----

  #clearTimers(): void {
    this.#clearHeartbeat();
    if (this.#retryTimer !== null) this.#timers.clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
  }

  #clearHeartbeat(): void {
    if (this.#heartbeatTimer !== null) this.#timers.clearTimeout(this.#heartbeatTimer);
    this.#heartbeatTimer = null;
  }

  #update(changes: Partial<ChatSnapshot>): void {
    this.#snapshot = { ...this.#snapshot, ...changes };
    for (const listener of this.#listeners) listener();
  }
}

function browserSocket(url: string): WebSocketLike {
  if (typeof WebSocket === 'undefined') throw new Error('no global WebSocket here: pass createSocket');
  return new WebSocket(url) as unknown as WebSocketLike;
}

const browserWakeUpSignals: WakeUpSignals = (wake) => {
  if (typeof window === 'undefined' || typeof document === 'undefined') return () => {};
  const online = (): void => wake('online');
  const visible = (): void => {
    if (document.visibilityState === 'visible') wake('visible');
  };
  window.addEventListener('online', online);
  document.addEventListener('visibilitychange', visible);
  return () => {
    window.removeEventListener('online', online);
    document.removeEventListener('visibilitychange', visible);
  };
};

function randomClientId(): string {
  return globalThis.crypto.randomUUID();
}

import {
  type ChatMessageFrame,
  codePointLength,
  type ErrorCode,
  isPermanentError,
  type Limits,
  MAX_MESSAGE_CHARS,
  parseServerFrame,
  type PresenceUser,
  type ServerFrame,
} from '../chat/protocol';
import { type Backoff, exponentialBackoff } from './backoff';
import { Heartbeat } from './heartbeat';
import { MessageLog } from './message-log';
import { type FailedMessage, Outbox, type PendingMessage } from './outbox';
import {
  browserOutboxStorage,
  browserSocket,
  browserWakeUpSignals,
  globalTimers,
  type OutboxStorage,
  randomClientId,
  type Timers,
  type WakeUpSignals,
  type WebSocketFactory,
  type WebSocketLike,
} from './platform';
import { TypingTracker } from './typing-tracker';

/**
 * - `connecting`: the first attempt, before the server's welcome;
 * - `open`: welcomed; messages flow;
 * - `reconnecting`: the connection was lost; waiting (`retryAt`) or trying again;
 * - `closed`: closed by `close()`, or by the server in a way that says "do not come back".
 */
export const CONNECTION_STATUSES = ['connecting', 'open', 'reconnecting', 'closed'] as const;
export type ConnectionStatus = (typeof CONNECTION_STATUSES)[number];

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
  /** The close code that ended the connection for good (status `closed`); 4401: the session ended. */
  readonly closeCode: number | null;
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
  /**
   * When the tab becomes visible again, a quiet connection is pinged at once and is dead if
   * silent this long (default 3 s): after a sleep the socket may be long gone.
   */
  readonly wakeUpPongTimeoutMs?: number;
  /** An attempt not welcomed within this long is given up and retried (default 10 s). */
  readonly connectTimeoutMs?: number;
  /** Keeps unacknowledged messages across reloads (default: the tab's sessionStorage). */
  readonly outboxStorage?: OutboxStorage;
  /** How long someone shows as typing after their last notice (default 5 s). */
  readonly typingShownMs?: number;
  /** At most one typing notice from here this often (default 2 s, the server's pace). */
  readonly typingEveryMs?: number;
  readonly timers?: Timers;
  readonly now?: () => number;
  readonly newClientId?: () => string;
  readonly wakeUpSignals?: WakeUpSignals;
}

/** The server's close when the session was signed out or revoked (see docs/protocol.md). */
export const SESSION_ENDED_CLOSE_CODE = 4401;
/** Close codes after which reconnecting would only repeat the problem. */
const FINAL_CLOSE_CODES: ReadonlySet<number> = new Set([1000, 1003, 1007, 1008, 1009, SESSION_ENDED_CLOSE_CODE]);
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
  readonly #log = new MessageLog();
  readonly #typing: TypingTracker;
  readonly #outbox: Outbox;
  readonly #storage: OutboxStorage;
  #failures = 0;
  #retryTimer: unknown = null;
  #connectTimer: unknown = null;
  readonly #heartbeat: Heartbeat;
  #releaseTimer: unknown = null;
  #lastTypingSentAt = Number.NEGATIVE_INFINITY;
  #holders = 0;
  #stopWakeUps: (() => void) | null = null;

  constructor(options: ChatClientOptions) {
    this.#options = options;
    this.#timers = options.timers ?? globalTimers;
    this.#storage = options.outboxStorage ?? browserOutboxStorage;
    this.#outbox = new Outbox(this.#storage.load(options.room));
    this.#now = options.now ?? Date.now;
    this.#heartbeat = new Heartbeat(
      this.#timers,
      this.#now,
      {
        pingAfterMs: options.pingAfterMs ?? 20_000,
        pongTimeoutMs: options.pongTimeoutMs ?? 10_000,
        wakeUpPongTimeoutMs: options.wakeUpPongTimeoutMs ?? 3_000,
      },
      {
        ping: () => this.#socket?.send('{"type":"ping"}'),
        dead: () => {
          this.#dropSocket(4000);
          this.#connectionLost(1006);
        },
      },
    );
    this.#typing = new TypingTracker(this.#timers, options.typingShownMs ?? 5_000, () => this.#update({ typing: this.#typing.people }));
    this.#backoff = options.backoff ?? exponentialBackoff();
    this.#snapshot = {
      status: 'closed',
      retryAt: null,
      room: options.room,
      me: null,
      messages: [],
      outbox: this.#outbox.pending,
      failed: [],
      hasMore: false,
      loadingOlder: false,
      presence: [],
      typing: [],
      limits: null,
      closeCode: null,
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
    this.#update({ status: 'connecting', retryAt: null, closeCode: null });
    this.#openSocket();
  }

  /** Closes for good; `connect` starts again. */
  close(): void {
    this.#clearTimers();
    this.#typing.clear();
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
    const pending = this.#outbox.add(clientId, text);
    if (this.#snapshot.status === 'open') this.#transmit(pending);
    this.#update({ outbox: this.#outbox.pending });
    return { ok: true, clientId };
  }

  /** Forgets a failed message (the user has read why). */
  dismiss(clientId: string): void {
    this.#outbox.dismiss(clientId);
    this.#update({ failed: this.#outbox.failed });
  }

  /** Asks for the page of messages before the oldest one shown (once at a time). */
  loadOlder(): void {
    const oldest = this.#log.oldest;
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
    const last = this.#log.resumeAfter;
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
    // A handshake can hang (a server between two runs, a dead network path): give it up in time.
    this.#connectTimer = this.#timers.setTimeout(() => {
      this.#connectTimer = null;
      if (this.#socket !== socket) return;
      this.#dropSocket(4000);
      this.#connectionLost(1006);
    }, this.#options.connectTimeoutMs ?? 10_000);
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
    this.#heartbeat.heard();
    if (typeof data !== 'string') return;
    const frame = parseServerFrame(data);
    if (frame) this.#handle(frame);
  }

  #handle(frame: ServerFrame): void {
    switch (frame.type) {
      case 'welcome':
        this.#clearConnectTimer();
        this.#failures = 0;
        this.#update({ status: 'open', retryAt: null, me: { userId: frame.user_id, name: frame.user }, limits: frame.limits });
        this.#heartbeat.start();
        for (const pending of this.#outbox.pending) this.#transmit(pending);
        this.#update({ outbox: this.#outbox.pending });
        return;
      case 'history': {
        // has_more speaks of messages older than this frame's: it matters for the join page, an
        // older page asked for, or a reset, not for the newer messages a resume brings.
        const extendsBack = frame.reset === true || this.#snapshot.loadingOlder || this.#log.oldest === undefined;
        if (frame.reset) this.#log.clear();
        for (const message of frame.messages) this.#log.add(message);
        this.#update({
          messages: this.#log.messages,
          hasMore: extendsBack ? frame.has_more : this.#snapshot.hasMore,
          loadingOlder: false,
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
      case 'presence':
        this.#update({ presence: frame.users });
        return;
      case 'typing':
        this.#typing.start({ user_id: frame.user_id, user: frame.user });
        this.#update({ typing: this.#typing.people });
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
    this.#clearConnectTimer();
    this.#heartbeat.stop();
    this.#outbox.requeueSent();
    this.#typing.clear();
    // Who is here and typing is unknown until the next welcome; an older page asked for is lost.
    const lost = { presence: [], typing: [], loadingOlder: false, outbox: this.#outbox.pending } as const;
    if (FINAL_CLOSE_CODES.has(code)) {
      this.#stopWakeUps?.();
      this.#stopWakeUps = null;
      // What the signed-out person typed is not sent later under whoever comes next.
      if (code === SESSION_ENDED_CLOSE_CODE) {
        for (const pending of this.#outbox.pending) this.#outbox.fail(pending.clientId, 'unavailable', 'you were signed out before it was sent');
      }
      this.#update({ ...lost, outbox: this.#outbox.pending, failed: this.#outbox.failed, status: 'closed', retryAt: null, closeCode: code });
      return;
    }
    this.#failures++;
    const delay = Math.max(0, this.#backoff(this.#failures));
    this.#update({ ...lost, status: 'reconnecting', retryAt: this.#now() + delay });
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
    else if (status === 'open' && reason === 'visible') this.#heartbeat.wokeUp();
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

  // ---- messages ----

  #transmit(pending: PendingMessage): void {
    const socket = this.#socket;
    if (!socket || socket.readyState !== OPEN) return;
    socket.send(JSON.stringify({ type: 'chat.message', message: pending.text, client_id: pending.clientId }));
    this.#outbox.markSent(pending.clientId);
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
    }, Math.max(0, this.#backoff(1)) + 1_000);
  }

  // ---- plumbing ----

  #clearConnectTimer(): void {
    if (this.#connectTimer !== null) this.#timers.clearTimeout(this.#connectTimer);
    this.#connectTimer = null;
  }

  #clearTimers(): void {
    this.#clearConnectTimer();
    this.#heartbeat.stop();
    if (this.#retryTimer !== null) this.#timers.clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
  }

  #update(changes: Partial<ChatSnapshot>): void {
    if (changes.outbox !== undefined && changes.outbox !== this.#snapshot.outbox) this.#storage.save(this.#options.room, changes.outbox);
    this.#snapshot = { ...this.#snapshot, ...changes };
    for (const listener of this.#listeners) listener();
  }
}

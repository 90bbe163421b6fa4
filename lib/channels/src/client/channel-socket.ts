import { isFinalCloseCode } from '../close-codes';
import {
  isFrameworkFrame,
  type PresenceEntryFrame,
  parseServerFrameworkFrame,
  requestFrame,
  type ServerFrameworkFrame,
} from '../framework-frames';
import type { OfType, ReplyOf, SocketProtocol, TypedFrame } from '../protocol';
import { type Backoff, exponentialBackoff } from './backoff';
import { fallbackSocket } from './fallback-socket';
import { Heartbeat } from './heartbeat';
import {
  browserSocket,
  browserWakeUpSignals,
  globalTimers,
  reportLater,
  socketUrl,
  type Timers,
  type WakeUpSignals,
  type WebSocketFactory,
  type WebSocketLike,
} from './platform';
import { browserTransportMemory, type FallbackMode, probeUpgrade, type Transport, type TransportMemory, type UpgradeProbe } from './transport-choice';

/**
 * Where a {@link ChannelSocket} is:
 * - `connecting`: the first attempt, before the socket opens;
 * - `open`: frames flow;
 * - `reconnecting`: the connection was lost; waiting until `retryAt`, or trying again;
 * - `closed`: closed by `close()`, or by the server with a code that says "do not come back"
 *   (`closeCode` and `closeReason` say which: 4401 sign in, 4403 not allowed, …).
 */
export type SocketStatus = 'connecting' | 'open' | 'reconnecting' | 'closed';

/** Every {@link SocketStatus}, in the order a connection goes through them. */
export const SOCKET_STATUSES: readonly SocketStatus[] = ['connecting', 'open', 'reconnecting', 'closed'];

/** A {@link ChannelSocket}'s state at one moment; a new object after every change. */
export interface SocketSnapshot {
  /** Where the connection is. */
  readonly status: SocketStatus;
  /** When the next attempt starts (ms since the epoch), while `reconnecting` and waiting. */
  readonly retryAt: number | null;
  /** The code of the close that ended the connection for good (status `closed`); `null` after `close()`. */
  readonly closeCode: number | null;
  /** The server's reason with `closeCode`, such as `session ended`. */
  readonly closeReason: string | null;
  /** Attempts that failed in a row; counting starts again after a connection that stayed open. */
  readonly failures: number;
  /** How the current attempt (or the last one) carries frames: a WebSocket or the HTTP fallback. */
  readonly transport: Transport;
}

/** What happens to frames sent and requests made while the socket is not open. */
export type OfflinePolicy =
  /** `send` answers `false` and the frame is lost; `request` rejects with `disconnected`. */
  | 'drop'
  /**
   * Frames wait (in order, at most `maxKept`) and go once the socket opens; a request waits too,
   * and one cut off by a lost connection is sent again after the reconnect, until it is answered
   * or times out. The consumer must then take a repeated request well (an id of the app's own).
   */
  | 'keep';

/** How a {@link ChannelSocket} connects, retries and waits. Every timer is an option. */
export interface ChannelSocketOptions {
  /**
   * The consumer's path on the page's host (`/ws/poll/`), or a `ws:`/`wss:` URL; a function is
   * read before every attempt.
   */
  readonly url: string | (() => string);
  /**
   * Query parameters added to the URL before every attempt: a resume cursor of the app's own,
   * such as `{ after: lastSeenId }` (`null` or `undefined` values are left out).
   */
  readonly resume?: () => Readonly<Record<string, string | null | undefined>> | null;
  /** What happens to sends while not open (default `drop`). */
  readonly offline?: OfflinePolicy;
  /** Frames and requests kept while offline at most (default 100); past it `send` answers `false`. */
  readonly maxKept?: number;
  /** A request not answered within this long rejects with `timeout` (default 10 s). */
  readonly requestTimeoutMs?: number;
  /**
   * Requests on the wire at once, at most (default 16); more wait their turn, in order, so a burst
   * of requests stays within the server's budget for framework frames (50 at once).
   */
  readonly maxInFlight?: number;
  /** Makes sockets; defaults to the global `WebSocket` (Node 20 has none: pass `ws`). */
  readonly createSocket?: WebSocketFactory;
  /**
   * When to carry frames over the HTTP fallback (a server-sent-events stream and POSTs, for
   * networks that refuse the WebSocket upgrade) rather than a WebSocket: `auto` switches when a
   * WebSocket attempt fails and the probe finds the upgrade blocked, and remembers it for
   * `rememberFallbackMs`; `off` never; `only` always. The default is `auto`, or `off` when
   * `createSocket` is given without `createFallback` (a socket made with `ws` in Node).
   */
  readonly fallback?: FallbackMode;
  /** Makes fallback sockets (default `fallbackSocket` with the global `fetch`). */
  readonly createFallback?: WebSocketFactory;
  /**
   * Where `auto` keeps the time until which it uses the fallback (default one
   * `browserTransportMemory()` for the whole page, or the whole process outside a browser:
   * `localStorage`, so the next page load and other tabs know). Sockets that share a memory share
   * their probing too: one that is refused while another is finding out waits for that answer
   * rather than probing on its own, and the finding uses the probe, URL and timings of the socket
   * that started it. Give a socket a memory of its own to keep it apart.
   */
  readonly transportMemory?: TransportMemory;
  /**
   * How long `auto` uses the fallback after the probe found the upgrade blocked; while on it, it
   * probes again this often and goes back to WebSocket once one gets through (default 15 min).
   */
  readonly rememberFallbackMs?: number;
  /** The default probe's timeout (default 5 s). */
  readonly probeTimeoutMs?: number;
  /**
   * `auto` moves to the fallback only when the probe finds the upgrade blocked twice in a row,
   * this long apart (default 2 s): a server in the middle of a restart can look blocked once.
   */
  readonly confirmBlockedMs?: number;
  /**
   * Tells a blocked upgrade from a server that is down, for `auto` (default `probeUpgrade` with
   * `createSocket`, the global `fetch` and `probeTimeoutMs`).
   */
  readonly probe?: (wsUrl: string) => Promise<UpgradeProbe>;
  /** Delay before attempt n (1, 2, …) after failures; capped exponential with full jitter by default. */
  readonly backoff?: Backoff;
  /** An open that ends sooner than this counts as a failure for the backoff (default 5 s). */
  readonly stableAfterMs?: number;
  /** After this long without a frame, ping (default 20 s). */
  readonly pingAfterMs?: number;
  /** A connection silent this long after a ping is dead (default 10 s). */
  readonly pongTimeoutMs?: number;
  /** The pong deadline when the page comes back into view (default 3 s). */
  readonly wakeUpPongTimeoutMs?: number;
  /** An attempt not open within this long is given up and retried (default 10 s). */
  readonly connectTimeoutMs?: number;
  /** Timers, injectable for tests (default the global ones). */
  readonly timers?: Timers;
  /** The clock in ms (default `Date.now`). */
  readonly now?: () => number;
  /** When to retry at once or check the line (default: the browser's `online` and page visibility). */
  readonly wakeUpSignals?: WakeUpSignals;
  /**
   * Hears an error thrown by a listener, which does not keep the other listeners or the socket's
   * own work from going on (default: the global `reportError` where there is one, as in browsers,
   * else thrown again a moment later, as an uncaught error).
   */
  readonly reportError?: (error: unknown) => void;
}

/** Why a `request` failed: the consumer's refusal (its code), or `timeout`, `disconnected`, `closed`. */
export class RequestError extends Error {
  /** `'RequestError'`, so logs and `error.name` checks tell it apart. */
  override name = 'RequestError';
  constructor(
    /** `timeout`, `disconnected`, `closed`, or the code the consumer (or the framework) answered with. */
    readonly code: string,
    /** What the consumer said, or what happened. */
    readonly detail: string,
  ) {
    super(`${code}: ${detail}`);
  }
}

/** Options of one request. */
export interface RequestOptions {
  /** Rejects with `timeout` after this long (default the socket's `requestTimeoutMs`). */
  readonly timeoutMs?: number;
}

/** One entry of a group's presence: a key and what its newest connection said about itself. */
export type PresenceEntry = PresenceEntryFrame;

interface PendingRequest {
  readonly text: string;
  readonly resolve: (body: unknown) => void;
  readonly reject: (error: RequestError) => void;
  readonly timer: unknown;
  /** On the wire now (as opposed to waiting for the socket). */
  sent: boolean;
}

const OPEN = 1;
const PING = '{"$":"ping"}';
const NO_ENTRIES: readonly PresenceEntry[] = Object.freeze([]);
const MAX_LATEST_TYPES = 100;
/** The memory of sockets given none: one for the page, so its sockets share what they find. */
let pageTransportMemory: TransportMemory | null = null;
/**
 * A finding under way, for each memory: the sockets that share the memory wait for it together,
 * and it goes on while any of them still waits.
 */
interface Finding {
  readonly blocked: Promise<boolean>;
  readonly waiting: Set<() => boolean>;
}
const findingsUnderWay = new WeakMap<TransportMemory, Finding>();

/**
 * A connection to one consumer that keeps itself alive, for the browser (or Node with `ws`):
 * reconnects with jittered exponential backoff, stops on the close codes that say "do not come
 * back" (4401 sign in, 4403 not allowed, 4404, 4410, 1008, … see `isFinalCloseCode`) and says
 * why, notices a dead line with the framework's ping (every consumer answers it), and carries
 * typed frames, requests with answers and presence lists. On a network that refuses the WebSocket
 * upgrade it carries the same frames over the server's HTTP fallback (see the `fallback` option);
 * `transport` in the snapshot says which.
 *
 * ```ts
 * const poll = new ChannelSocket<PollProtocol>({ url: '/ws/poll/' });
 * poll.on('votes', (frame) => render(frame.counts));
 * poll.connect();
 * poll.send({ type: 'vote', option: 'tea' });
 * const { counts } = await poll.request({ type: 'tally' });
 * ```
 *
 * State for React comes from `subscribe` and `getSnapshot` (`useSyncExternalStore`), or from the
 * hooks of `next-channels/react`.
 */
export class ChannelSocket<Protocol extends SocketProtocol = SocketProtocol> {
  readonly #options: ChannelSocketOptions;
  readonly #timers: Timers;
  readonly #now: () => number;
  readonly #backoff: Backoff;
  readonly #heartbeat: Heartbeat;
  readonly #listeners = new Set<() => void>();
  readonly #textListeners = new Set<(text: string) => void>();
  readonly #frameListeners = new Set<(frame: Protocol['server']) => void>();
  readonly #openListeners = new Set<() => void>();
  readonly #presenceListeners = new Set<(group: string) => void>();
  readonly #presence = new Map<string, readonly PresenceEntry[]>();
  /** The latest application frame of each type (at most `MAX_LATEST_TYPES` types). */
  readonly #latest = new Map<string, Protocol['server']>();
  readonly #requests = new Map<string, PendingRequest>();
  readonly #kept: string[] = [];
  #socket: WebSocketLike | null = null;
  #snapshot: SocketSnapshot;
  #openedAt: number | null = null;
  #retryTimer: unknown = null;
  #connectTimer: unknown = null;
  #releaseTimer: unknown = null;
  #holders = 0;
  #nextRef = 1;
  #stopWakeUps: (() => void) | null = null;
  readonly #fallbackMode: FallbackMode;
  #memory: TransportMemory | null = null;
  /**
   * Moves on at each connect, close, reconnect and open: a probe's answer that comes after one
   * of those is about a connection that is over, and is not acted on.
   */
  #probeGeneration = 0;
  /** The generation whose refusal is being looked into (a later one looks into its own). */
  #probingFor: number | null = null;
  #reprobeTimer: unknown = null;

  constructor(options: ChannelSocketOptions) {
    this.#options = options;
    this.#fallbackMode = options.fallback ?? (options.createSocket !== undefined && options.createFallback === undefined ? 'off' : 'auto');
    this.#snapshot = {
      status: 'closed',
      retryAt: null,
      closeCode: null,
      closeReason: null,
      failures: 0,
      transport: this.#fallbackMode === 'only' ? 'fallback' : 'websocket',
    };
    this.#timers = options.timers ?? globalTimers;
    this.#now = options.now ?? Date.now;
    this.#backoff = options.backoff ?? exponentialBackoff();
    this.#heartbeat = new Heartbeat(
      this.#timers,
      this.#now,
      {
        pingAfterMs: options.pingAfterMs ?? 20_000,
        pongTimeoutMs: options.pongTimeoutMs ?? 10_000,
        wakeUpPongTimeoutMs: options.wakeUpPongTimeoutMs ?? 3_000,
      },
      {
        ping: () => this.#socket?.send(PING),
        dead: () => this.#lost(1006, null),
      },
    );
  }

  /** The state now; the same object until something changes. */
  getSnapshot = (): SocketSnapshot => this.#snapshot;

  /** Hears every change of the snapshot (and of presence lists); returns an unsubscribe. */
  subscribe = (listener: () => void): (() => void) => {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  };

  /** Opens the connection (again, after `close` or a final close). */
  connect(): void {
    if (this.#snapshot.status !== 'closed') return;
    this.#stopWakeUps = (this.#options.wakeUpSignals ?? browserWakeUpSignals)((reason) => this.#wakeUp(reason));
    this.#probeGeneration++;
    this.#update({ status: 'connecting', retryAt: null, closeCode: null, closeReason: null, failures: 0 });
    this.#open();
  }

  /**
   * Closes for good (code 1000); pending requests reject with `closed`, and frames kept while
   * offline are dropped. `connect` starts again.
   */
  close(): void {
    this.#probeGeneration++;
    this.#stop();
    this.#dropSocket(1000);
    this.#kept.length = 0;
    this.#failRequests('closed', 'the socket was closed');
    if (this.#snapshot.status !== 'closed') this.#update({ status: 'closed', retryAt: null });
  }

  /** The number of `hold`s not yet released. */
  get holders(): number {
    return this.#holders;
  }

  /**
   * Keeps the connection open while anyone holds it. The last `release` closes it a moment later
   * rather than at once, so React StrictMode's unmount-and-mount and Fast Refresh's re-run of
   * effects do not drop the socket. After the server closed it for good (a `closeCode` is set),
   * a new holder does not connect again: that takes `reconnect()` (after signing in, say), or a
   * new page.
   */
  hold(): void {
    this.#holders++;
    if (this.#releaseTimer !== null) {
      this.#timers.clearTimeout(this.#releaseTimer);
      this.#releaseTimer = null;
    }
    if (this.#snapshot.closeCode === null) this.connect();
  }

  /** Lets go of one `hold`; see there. */
  release(): void {
    this.#holders = Math.max(0, this.#holders - 1);
    if (this.#holders > 0 || this.#releaseTimer !== null) return;
    this.#releaseTimer = this.#timers.setTimeout(() => {
      this.#releaseTimer = null;
      if (this.#holders === 0) this.close();
    }, 0);
  }

  /**
   * Gives up the current connection as lost (the app's own check found it stuck): reconnects after
   * the backoff, as after a drop. Does nothing unless connecting or open.
   */
  dropConnection(): void {
    const status = this.#snapshot.status;
    if (status === 'open' || (this.#socket !== null && status !== 'closed')) this.#lost(1006, null);
  }

  /** Gives up the current connection and reconnects now (a new session, a changed resume cursor). */
  reconnect(): void {
    if (this.#snapshot.status === 'closed') {
      this.connect();
      return;
    }
    this.#probeGeneration++;
    this.#dropSocket(4000);
    this.#clearTimers();
    this.#connectionGone();
    this.#update({ status: 'reconnecting', retryAt: null });
    this.#open();
  }

  /**
   * Sends one of the protocol's client frames. While the socket is not open it is kept or
   * dropped by the `offline` policy; answers whether it was sent or kept. Throws a `TypeError`
   * for a frame with a `$` member (the framework's mark).
   */
  send(frame: Protocol['client']): boolean {
    return this.sendText(encodeAppFrame(frame));
  }

  /** Sends text as it is (a consumer that is not JSON, or a frame already serialised). */
  sendText(text: string): boolean {
    const socket = this.#socket;
    if (socket && this.#snapshot.status === 'open' && socket.readyState === OPEN) {
      socket.send(text);
      return true;
    }
    // Closed for good by the server (signed out, say): nothing waits to go out under whoever comes next.
    if (this.#closedForGood || this.#options.offline !== 'keep' || this.#keptCount() >= (this.#options.maxKept ?? 100)) return false;
    this.#kept.push(text);
    return true;
  }

  /**
   * Sends `frame` as a request: resolves with the consumer's `reply`, rejects with a
   * {@link RequestError} on its `replyError`, on timeout, when the connection is lost (unless the
   * `offline` policy is `keep`) or on `close`.
   */
  request<K extends Protocol['client']['type']>(
    frame: Extract<Protocol['client'], OfType<K>>,
    options: RequestOptions = {},
  ): Promise<ReplyOf<Protocol, K>> {
    const text = encodeAppFrame(frame);
    return new Promise<ReplyOf<Protocol, K>>((resolve, reject) => {
      if (this.#closedForGood) {
        reject(new RequestError('closed', 'the server closed the connection for good'));
        return;
      }
      const open = this.#snapshot.status === 'open';
      if (!open && (this.#options.offline !== 'keep' || this.#keptCount() >= (this.#options.maxKept ?? 100))) {
        reject(new RequestError('disconnected', 'the socket is not open'));
        return;
      }
      const ref = (this.#nextRef++).toString(36);
      const timer = this.#timers.setTimeout(() => {
        this.#requests.delete(ref);
        reject(new RequestError('timeout', 'no answer in time'));
        this.#pump();
      }, options.timeoutMs ?? this.#options.requestTimeoutMs ?? 10_000);
      const pending: PendingRequest = { text, resolve: resolve as (body: unknown) => void, reject, timer, sent: false };
      this.#requests.set(ref, pending);
      if (open) this.#pump();
    });
  }

  /** Hears every frame of the application (not the framework's), parsed; returns an unsubscribe. */
  onMessage(listener: (frame: Protocol['server']) => void): () => void {
    this.#frameListeners.add(listener);
    return () => this.#frameListeners.delete(listener);
  }

  /** Hears the frames of one type; returns an unsubscribe. */
  on<K extends Protocol['server']['type']>(type: K, listener: (frame: Extract<Protocol['server'], OfType<K>>) => void): () => void {
    return this.onMessage((frame) => {
      if (frame.type === type) listener(frame as Extract<Protocol['server'], OfType<K>>);
    });
  }

  /**
   * The latest frame of `type` received while anyone listened to frames (`on`, `onMessage`, the
   * `useLatest` hook), kept across reconnects: a live value stays on screen until the next one.
   * `undefined` before the first.
   */
  latest<K extends Protocol['server']['type']>(type: K): Extract<Protocol['server'], OfType<K>> | undefined {
    return this.#latest.get(type) as Extract<Protocol['server'], OfType<K>> | undefined;
  }

  /** Hears the text of every application frame, as it came (for a consumer that is not JSON). */
  onText(listener: (text: string) => void): () => void {
    this.#textListeners.add(listener);
    return () => this.#textListeners.delete(listener);
  }

  /** Hears every open, the first and each after a reconnect (to send state the server lost). */
  onOpen(listener: () => void): () => void {
    this.#openListeners.add(listener);
    return () => this.#openListeners.delete(listener);
  }

  /**
   * The presence list of `group` as the consumer last sent it (one entry per key, sorted by
   * key), empty before the first list and after a disconnect.
   */
  presence(group: string): readonly PresenceEntry[] {
    return this.#presence.get(group) ?? NO_ENTRIES;
  }

  /** Hears each change of a group's presence list (the group's name); returns an unsubscribe. */
  onPresence(listener: (group: string) => void): () => void {
    this.#presenceListeners.add(listener);
    return () => this.#presenceListeners.delete(listener);
  }

  // ---- connection ----

  #open(): void {
    const transport = this.#chooseTransport();
    if (transport !== this.#snapshot.transport) this.#update({ transport });
    let socket: WebSocketLike;
    try {
      socket = (transport === 'fallback' ? this.#createFallback : this.#createSocket)(this.#url());
    } catch {
      this.#lost(1006, null);
      return;
    }
    this.#socket = socket;
    // A handshake can hang (a server between two runs, a dead network path): give it up in time.
    this.#connectTimer = this.#timers.setTimeout(() => {
      this.#connectTimer = null;
      if (this.#socket === socket) this.#lost(1006, null);
    }, this.#options.connectTimeoutMs ?? 10_000);
    socket.onopen = () => {
      if (this.#socket === socket) this.#opened();
    };
    socket.onmessage = (event) => {
      if (this.#socket === socket && typeof event.data === 'string') this.#frame(event.data);
    };
    socket.onclose = (event) => {
      if (this.#socket === socket) this.#lost(event.code, event.reason || null);
    };
    socket.onerror = () => {
      // 'close' follows with the code; nothing more to learn here.
    };
  }

  #url(): string {
    const base = this.#baseUrl();
    const params = this.#options.resume?.();
    if (!params) return base;
    const query = Object.entries(params)
      .filter((entry): entry is [string, string] => typeof entry[1] === 'string')
      .map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(value)}`)
      .join('&');
    return query === '' ? base : `${base}${base.includes('?') ? '&' : '?'}${query}`;
  }

  #baseUrl(): string {
    const option = this.#options.url;
    return socketUrl(typeof option === 'function' ? option() : option);
  }

  #opened(): void {
    this.#clearConnectTimer();
    this.#openedAt = this.#now();
    this.#probeGeneration++;
    this.#heartbeat.start();
    if (this.#snapshot.transport === 'fallback' && this.#fallbackMode === 'auto') this.#armReprobe();
    // Kept frames, then kept requests, in the order they were made; then the listeners hear of it.
    const socket = this.#socket;
    this.#snapshot = { ...this.#snapshot, status: 'open', retryAt: null };
    for (const text of this.#kept.splice(0)) socket?.send(text);
    this.#pump();
    this.#notify();
    this.#emit(this.#openListeners);
  }

  #frame(text: string): void {
    this.#heartbeat.heard();
    if (isFrameworkFrame(text)) {
      const frame = parseServerFrameworkFrame(text);
      if (frame) this.#frameworkFrame(frame);
      return;
    }
    this.#emit(this.#textListeners, text);
    // Parsed only for those who asked for parsed frames (a client that reads the text, as the
    // chat's does, parses it once, itself).
    if (this.#frameListeners.size === 0) return;
    let frame: unknown;
    try {
      frame = JSON.parse(text);
    } catch {
      return;
    }
    if (typeof frame !== 'object' || frame === null || typeof (frame as TypedFrame).type !== 'string') return;
    const type = (frame as TypedFrame).type;
    if (this.#latest.has(type) || this.#latest.size < MAX_LATEST_TYPES) this.#latest.set(type, frame as Protocol['server']);
    this.#emit(this.#frameListeners, frame as Protocol['server']);
  }

  #frameworkFrame(frame: ServerFrameworkFrame): void {
    switch (frame.$) {
      case 'reply': {
        const pending = this.#requests.get(frame.ref);
        if (!pending) return;
        this.#requests.delete(frame.ref);
        this.#timers.clearTimeout(pending.timer);
        if (frame.ok) pending.resolve(frame.body);
        else pending.reject(new RequestError(frame.code, frame.detail));
        this.#pump();
        return;
      }
      case 'presence':
        this.#setPresence(frame.group, [...frame.entries].sort(byKey));
        return;
      case 'presence_diff': {
        const joined = new Map(frame.joins.map((entry) => [entry.key, entry]));
        const leaving = new Set(frame.leaves);
        const kept = this.presence(frame.group).filter((entry) => !joined.has(entry.key) && !leaving.has(entry.key));
        this.#setPresence(frame.group, [...kept, ...joined.values()].sort(byKey));
        return;
      }
      default:
        // pong (the heartbeat heard it already) and error frames, which answer nothing here.
        return;
    }
  }

  #setPresence(group: string, entries: readonly PresenceEntry[]): void {
    this.#presence.set(group, entries);
    this.#emit(this.#presenceListeners, group);
    this.#notify();
  }

  /** Sends waiting requests, in the order they were made, while fewer than `maxInFlight` are out. */
  #pump(): void {
    const socket = this.#socket;
    if (!socket || socket.readyState !== OPEN || this.#snapshot.status !== 'open') return;
    const most = this.#options.maxInFlight ?? 16;
    let inFlight = 0;
    for (const pending of this.#requests.values()) if (pending.sent) inFlight++;
    for (const [ref, pending] of this.#requests) {
      if (inFlight >= most) return;
      if (pending.sent) continue;
      socket.send(requestFrame(ref, pending.text));
      pending.sent = true;
      inFlight++;
    }
  }

  /** The connection is gone: reconnect after a backoff, or stop for good on a final code. */
  #lost(code: number, reason: string | null): void {
    // A WebSocket refused or hung before it opened: perhaps a network that blocks the upgrade.
    const refusedUpgrade = code === 1006 && this.#openedAt === null && this.#snapshot.transport === 'websocket';
    this.#dropSocket(4000);
    this.#clearConnectTimer();
    this.#clearReprobeTimer();
    this.#heartbeat.stop();
    const stable = this.#openedAt !== null && this.#now() - this.#openedAt >= (this.#options.stableAfterMs ?? 5_000);
    if (isFinalCloseCode(code)) {
      this.#stop();
      this.#kept.length = 0;
      this.#failRequests('closed', `the server closed the connection (${code}${reason ? ` ${reason}` : ''})`);
      this.#connectionGone();
      this.#update({ status: 'closed', retryAt: null, closeCode: code, closeReason: reason });
      return;
    }
    const failures = stable ? 1 : this.#snapshot.failures + 1;
    const delay = Math.max(0, this.#backoff(failures));
    // The retry is armed before anyone hears of the loss: a listener that throws cannot stop it.
    this.#retryTimer = this.#timers.setTimeout(() => this.#retryNow(), delay);
    this.#connectionGone();
    this.#update({ status: 'reconnecting', retryAt: this.#now() + delay, failures });
    if (refusedUpgrade && this.#fallbackMode === 'auto') this.#probeAfterRefusal();
  }

  // ---- transport ----

  get #createSocket(): WebSocketFactory {
    return this.#options.createSocket ?? browserSocket;
  }

  get #createFallback(): WebSocketFactory {
    return this.#options.createFallback ?? ((url) => fallbackSocket(url, { timers: this.#timers, now: this.#now }));
  }

  get #transportMemory(): TransportMemory {
    this.#memory ??= this.#options.transportMemory ?? (pageTransportMemory ??= browserTransportMemory());
    return this.#memory;
  }

  get #rememberFallbackMs(): number {
    return this.#options.rememberFallbackMs ?? 15 * 60_000;
  }

  #chooseTransport(): Transport {
    switch (this.#fallbackMode) {
      case 'only':
        return 'fallback';
      case 'off':
        return 'websocket';
      case 'auto': {
        const until = this.#transportMemory.get();
        return until !== null && until > this.#now() ? 'fallback' : 'websocket';
      }
    }
  }

  /**
   * Probes beside the backoff, which goes on meanwhile: a server restarting fails the HTTP probe
   * too (`down`) and is waited for on WebSocket as before; only `blocked` moves to the fallback.
   * A newer attempt still connecting does not make the answer stale (it is on the same blocked
   * network, and the backoff's short first delays would otherwise void every answer); one that
   * opened does. While another socket of the same memory (the page's other sockets, by default)
   * is finding out, this one waits for that finding instead of probing beside it, and moves when
   * it ends in `blocked`; the finding goes on while any socket waits for it (the one that started
   * it may have closed meanwhile). After a finding that came to nothing, the next refusal probes.
   */
  #probeAfterRefusal(): void {
    const generation = this.#probeGeneration;
    if (this.#probingFor === generation) return;
    this.#probingFor = generation;
    const stillWaiting = (): boolean => {
      const { status, transport } = this.#snapshot;
      return generation === this.#probeGeneration && status === 'reconnecting' && transport === 'websocket';
    };
    const memory = this.#transportMemory;
    let finding = findingsUnderWay.get(memory);
    if (finding) finding.waiting.add(stillWaiting);
    else {
      const waiting = new Set([stillWaiting]);
      const anyoneWaiting = (): boolean => [...waiting].some((waits) => waits());
      finding = { blocked: this.#findBlocked(anyoneWaiting).catch(() => false), waiting };
      findingsUnderWay.set(memory, finding);
      // Before any waiter hears the answer: a refusal after it starts a finding of its own.
      void finding.blocked.then(() => findingsUnderWay.delete(memory));
    }
    void finding.blocked.then((blocked) => {
      if (this.#probingFor === generation) this.#probingFor = null;
      if (!stillWaiting() || !(blocked || this.#chooseTransport() === 'fallback')) return;
      this.#dropSocket(4000);
      this.#clearConnectTimer();
      // Not a failure of its own: the retry comes now, on the fallback, with the count as it was.
      this.#retryNow();
    });
  }

  /**
   * Whether the upgrade is blocked, for {@link #probeAfterRefusal}, asked while `stillWaiting`;
   * when it is, the memory says so before the answer is given.
   */
  async #findBlocked(stillWaiting: () => boolean): Promise<boolean> {
    // Another tab (the memory is shared with them) may have found out meanwhile: its answer
    // stands, and costs this page no probe.
    const foundElsewhere = (): boolean => this.#chooseTransport() === 'fallback';
    const answer = (): Promise<UpgradeProbe | null> => (foundElsewhere() ? Promise.resolve('blocked') : this.#probe());
    const confirmMs = this.#options.confirmBlockedMs ?? 2_000;
    // A server that is restarting can answer the two halves of one probe differently (one
    // before, one after); a network that blocks upgrades answers "blocked" every time. So it
    // takes two answers in a row, `confirmBlockedMs` apart.
    let result = await answer();
    if (result === 'blocked' && stillWaiting() && !foundElsewhere()) {
      if (confirmMs > 0) await new Promise<void>((done) => this.#timers.setTimeout(done, confirmMs));
      result = stillWaiting() ? await answer() : null;
    }
    if (result !== 'blocked' || !stillWaiting()) return false;
    if (!foundElsewhere()) this.#transportMemory.set(this.#now() + this.#rememberFallbackMs);
    return true;
  }

  /** While on the fallback: every `rememberFallbackMs`, WebSocket again once one gets through. */
  #armReprobe(): void {
    this.#clearReprobeTimer();
    this.#reprobeTimer = this.#timers.setTimeout(() => {
      this.#reprobeTimer = null;
      const generation = this.#probeGeneration;
      void this.#probe().then((result) => {
        const { status, transport } = this.#snapshot;
        if (generation !== this.#probeGeneration || status !== 'open' || transport !== 'fallback') return;
        if (result === 'reachable') {
          this.#transportMemory.clear();
          this.reconnect();
          return;
        }
        if (result === 'blocked') this.#transportMemory.set(this.#now() + this.#rememberFallbackMs);
        this.#armReprobe();
      });
    }, this.#rememberFallbackMs);
  }

  /** The probe's answer; `null` when the probe itself failed (which says nothing). */
  #probe(): Promise<UpgradeProbe | null> {
    const probe =
      this.#options.probe ??
      ((wsUrl: string) => probeUpgrade({ wsUrl, createSocket: this.#createSocket, timeoutMs: this.#options.probeTimeoutMs ?? 5_000, timers: this.#timers }));
    try {
      return probe(this.#baseUrl()).catch(() => null);
    } catch {
      return Promise.resolve(null);
    }
  }

  #clearReprobeTimer(): void {
    if (this.#reprobeTimer !== null) this.#timers.clearTimeout(this.#reprobeTimer);
    this.#reprobeTimer = null;
  }

  /** Closed by the server with a code that says "do not come back" (not by `close()`). */
  get #closedForGood(): boolean {
    return this.#snapshot.status === 'closed' && this.#snapshot.closeCode !== null;
  }

  /**
   * What a lost connection takes with it: presence lists, and the requests not answered (with the
   * `keep` policy they wait for the next connection instead).
   */
  #connectionGone(): void {
    this.#openedAt = null;
    for (const [ref, pending] of this.#requests) {
      if (this.#options.offline === 'keep') {
        pending.sent = false;
      } else {
        this.#requests.delete(ref);
        this.#timers.clearTimeout(pending.timer);
        pending.reject(new RequestError('disconnected', 'the connection was lost before the answer'));
      }
    }
    if (this.#presence.size > 0) {
      const groups = [...this.#presence.keys()];
      this.#presence.clear();
      for (const group of groups) this.#emit(this.#presenceListeners, group);
    }
  }

  #retryNow(): void {
    if (this.#retryTimer !== null) this.#timers.clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
    this.#update({ retryAt: null });
    this.#open();
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
    socket.onopen = null;
    socket.onmessage = null;
    socket.onclose = null;
    try {
      socket.close(code);
    } catch {
      // Already closing.
    }
  }

  #failRequests(code: string, detail: string): void {
    for (const pending of this.#requests.values()) {
      this.#timers.clearTimeout(pending.timer);
      pending.reject(new RequestError(code, detail));
    }
    this.#requests.clear();
  }

  #keptCount(): number {
    let waiting = this.#kept.length;
    for (const pending of this.#requests.values()) if (!pending.sent) waiting++;
    return waiting;
  }

  #stop(): void {
    this.#clearTimers();
    this.#stopWakeUps?.();
    this.#stopWakeUps = null;
  }

  #clearConnectTimer(): void {
    if (this.#connectTimer !== null) this.#timers.clearTimeout(this.#connectTimer);
    this.#connectTimer = null;
  }

  #clearTimers(): void {
    this.#clearConnectTimer();
    this.#clearReprobeTimer();
    this.#heartbeat.stop();
    if (this.#retryTimer !== null) this.#timers.clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
  }

  #update(changes: Partial<SocketSnapshot>): void {
    this.#snapshot = { ...this.#snapshot, ...changes };
    this.#notify();
  }

  #notify(): void {
    this.#emit(this.#listeners);
  }

  /**
   * Calls each listener; one that throws is reported (as an uncaught error, a moment later) and
   * does not keep the others from hearing, nor stop this socket's own work.
   */
  #emit<A extends unknown[]>(listeners: ReadonlySet<(...args: A) => void>, ...args: A): void {
    for (const listener of listeners) {
      try {
        listener(...args);
      } catch (error) {
        (this.#options.reportError ?? reportLater)(error);
      }
    }
  }
}


function encodeAppFrame(frame: object): string {
  if (Object.hasOwn(frame, '$')) throw new TypeError('a frame with a "$" member would read as a framework frame');
  return JSON.stringify(frame);
}

function byKey(a: PresenceEntry, b: PresenceEntry): number {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

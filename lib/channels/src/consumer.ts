import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { Application, Environment } from './application';
import { closeAfterAccept, CloseCode } from './close-codes';
import type { Connection, ConnectionListener, JsonObject, JsonValue, OutgoingFrame, Transport } from './connection';
import { ConnectionRefused, HandshakeError, NoHandler } from './errors';
import { FRAMEWORK_FRAME_PREFIX, type FrameworkErrorCode, parseClientFrameworkFrame } from './framework-frames';
import { registerLiveConsumer } from './live-consumers';
import { Lane } from './lane';
import type { ChannelLayer, ChannelReceiver, GroupSendOptions, LayerMessage } from './layers/types';
import type { Logger } from './logger';
import { type RateLimit, TokenBucket } from './rate-limit';
import { ConsumerPresence, type PresenceChange, presenceFrame } from './presence/consumer-presence';
import type { PresenceTracker } from './presence/types';
import type { RouteParams, Scope } from './scope';
import { SESSION_ENDED, sessionGroup } from './sessions';

/** Layer events a consumer handles: event type → the fields besides `type`. */
export type EventMap = Record<string, object>;

/** One event of a map, with its `type`: what a handler receives and `groupSend` takes. */
export type EventOf<E extends EventMap, K extends keyof E & string> = {
  /** The dotted event type, which is also the name of the handler method. */
  readonly type: K;
} & Readonly<E[K]>;

/**
 * The handler methods a consumer must define for its events, named by the event type:
 * `class ChatConsumer ... implements EventHandlers<ChatEvents>` fails to compile when a handler is
 * missing or misspelt.
 */
export type EventHandlers<E extends EventMap> = {
  [K in keyof E & string]: (event: EventOf<E, K>) => void | Promise<void>;
};

/** @internal The method through which routing starts a consumer. */
export const startConsumer: unique symbol = Symbol('startConsumer');

/**
 * What a hook returns: nothing, or a promise that holds the next frame (or event) of its lane back
 * until it settles.
 */
export type Hook = void | Promise<void>;

/** What arrives from the socket, handled in order in one lane. */
type SocketItem =
  | { readonly kind: 'text'; readonly data: string }
  | { readonly kind: 'request'; readonly ref: string; readonly data: string }
  | { readonly kind: 'binary'; readonly data: Buffer }
  | { readonly kind: 'disconnect'; readonly code: number };

/**
 * What arrives from the channel layer, handled in order in another lane: the layer's messages
 * as they are (no wrapper made per delivery), and this one object for a resync.
 */
const RESYNC: LayerMessage = Object.freeze({ type: 'channels.resync' });
const ACCEPTED: Promise<void> = Promise.resolve();
const NO_GROUPS: readonly string[] = Object.freeze([]);

type Lifecycle = 'new' | 'connecting' | 'open' | 'closed';

/**
 * Framework frames (pings and requests) a connection may send, before they are parsed: a client
 * pings every 20 s or so, and each request also goes through the consumer's own budget.
 */
const FRAMEWORK_FRAME_BUDGET: RateLimit = { rate: 100, perMs: 10_000, burst: 50 };
/** Framework frames refused in a row before the connection is closed with 1008. */
const FRAMEWORK_REFUSALS_BEFORE_CLOSE = 50;
const PONG = '{"$":"pong"}';

/** A request being answered: `open` until `reply`, `replyError` or `replyLater` takes it. */
interface PendingRequest {
  /** The consumer whose socket lane handles it. */
  readonly consumer: object;
  readonly ref: string;
  state: 'open' | 'answered' | 'deferred';
}

/**
 * The request a socket-lane hook is handling, through its awaits: what `reply` answers. Kept per
 * async context rather than in a field, so a layer event handled meanwhile (another lane) does
 * not see the request as its own.
 */
const handling = new AsyncLocalStorage<PendingRequest>();

/**
 * The answer to one request, taken out of the hook that received it by `replyLater`: call one of
 * its methods once, whenever the answer is ready (later calls do nothing).
 */
export interface Responder {
  /** Answers with `body`: the client's `request` resolves with it. */
  reply(body: JsonValue): void;
  /** Refuses: the client's `request` rejects with a `RequestError` carrying `code` and `detail`. */
  error(code: string, detail: string): void;
}

/**
 * A WebSocket consumer, as in Django Channels: the framework calls the hooks `connect`, `receive`
 * and `disconnect`, and the consumer answers with `accept`, `send` and `close`. Frames from the
 * socket are handled one at a time in arrival order (a hook that returns a promise holds the next
 * frame back until it settles), and so are events from the channel layer, in a lane of their
 * own: a client busy sending does not hold back what others send it. Nothing is handled until
 * `connect` returns.
 *
 * Layer events are dispatched to the method named by their `type`:
 *
 * ```ts
 * type Events = { 'chat.message': { text: string } };
 * class Echo extends WebsocketConsumer<{ room: string }, Events> implements EventHandlers<Events> {
 *   override groups = [`room.${this.scope.params.room}`];
 *   override receive(text: string) {
 *     return this.groupSend(this.groups[0]!, { type: 'chat.message', text });
 *   }
 *   'chat.message'(event: EventOf<Events, 'chat.message'>) {
 *     this.send(event.text);
 *   }
 * }
 * ```
 */
export abstract class WebsocketConsumer<P extends RouteParams = RouteParams, E extends EventMap = EventMap> {
  /** The connection's scope: path, route `params`, query, headers, cookies, client and user. */
  readonly scope: Scope<P>;
  /**
   * Groups joined before `connect` runs and left after `disconnect`. A consumer of a session also
   * joins its `sessionGroup`, and closes with `CloseCode.SessionEnded` when the session ends.
   */
  readonly groups: readonly string[] = NO_GROUPS;

  #connection: Connection | null = null;
  #env: Environment | null = null;
  #channelName = '';
  #lifecycle: Lifecycle = 'new';
  #acceptance: Promise<void> | null = null;
  #closeRequested = false;
  /** A resync waits in the layer lane. */
  #resyncPending = false;
  /**
   * Groups joined (an array: a consumer is in one or two). Starts as `groups` itself, and is
   * replaced, never changed, when the consumer joins or leaves others.
   */
  #joined: readonly string[] = NO_GROUPS;
  /** Made at the connection's first framework frame. */
  #frameworkBudget: TokenBucket | null = null;
  #frameworkRefusals = 0;
  /** The groups this connection tracks itself in (made on the first `track`). */
  #presence: ConsumerPresence | null = null;
  // The two sides of a consumer, as objects with their methods on a prototype rather than a
  // closure each: a server holds thousands of consumers, and this is all of each that the
  // connection and the layer see.

  /** The connection's listener, and the handler of the socket lane. */
  static readonly #SocketSide = class extends Lane<SocketItem> implements ConnectionListener {
    readonly #consumer: WebsocketConsumer;
    constructor(consumer: WebsocketConsumer) {
      super();
      this.#consumer = consumer;
    }
    text(data: string): void {
      if (data.startsWith(FRAMEWORK_FRAME_PREFIX)) this.#consumer.#frameworkFrame(data);
      else this.push({ kind: 'text', data });
    }
    binary(data: Buffer): void {
      this.push({ kind: 'binary', data });
    }
    closed(code: number): void {
      const consumer = this.#consumer;
      if (consumer.#lifecycle === 'closed') return;
      consumer.#lifecycle = 'closed';
      registerLiveConsumer(consumer, false);
      if (consumer.#channelName) consumer.#env?.layer?.detach(consumer.#channelName);
      this.push({ kind: 'disconnect', code });
    }
    whenIdle(): Promise<void> {
      return this.#consumer.#whenIdle();
    }
    protected handle(item: SocketItem): Hook {
      return this.#consumer.#onSocket(item);
    }
    protected failed(error: unknown): void {
      this.#consumer.#crashed(error);
    }
  };

  /** The receiver of the consumer's channel, and the handler of the layer lane. */
  static readonly #LayerSide = class extends Lane<LayerMessage> implements ChannelReceiver {
    readonly #consumer: WebsocketConsumer;
    constructor(consumer: WebsocketConsumer) {
      super();
      this.#consumer = consumer;
    }
    deliver(message: LayerMessage): void {
      if (this.#consumer.#lifecycle !== 'closed') this.push(message);
    }
    overflowed(message: LayerMessage): void {
      this.#consumer.#overflowed(message);
    }
    resync(): void {
      const consumer = this.#consumer;
      // Several before it runs make one: a resync catches up on everything missed so far.
      if (consumer.#lifecycle === 'closed' || consumer.#resyncPending) return;
      consumer.#resyncPending = true;
      this.push(RESYNC);
    }
    protected handle(message: LayerMessage): Hook {
      return this.#consumer.#onLayer(message);
    }
    protected failed(error: unknown): void {
      this.#consumer.#crashed(error);
    }
  };

  readonly #socket = new WebsocketConsumer.#SocketSide(this);
  readonly #layer = new WebsocketConsumer.#LayerSide(this);

  constructor(scope: Scope<P>) {
    this.scope = scope;
  }

  /** This consumer's own channel on the layer (empty when the server has no layer). */
  get channelName(): string {
    return this.#channelName;
  }

  /** Called when the client asks to connect. The default accepts. */
  connect(): Hook {
    return this.accept();
  }

  /** A text frame from the client. */
  receive(_text: string): Hook {}

  /** A binary frame from the client. The default closes with 1003: text only. */
  receiveBinary(_data: Buffer): Hook {
    this.close(CloseCode.UnsupportedData, 'binary frames are not supported');
  }

  /** The connection is gone (`code` is what the client sent, or 1006). */
  disconnect(_code: number): Hook {}

  /**
   * The channel layer may have lost group messages meant for this consumer (its connection to
   * other processes dropped and came back). A consumer with a source of truth catches up here.
   */
  layerResync(): Hook {}

  /** Completes the handshake. Sending is possible once it resolves. */
  accept(): Promise<void> {
    const connection = this.#requireConnection();
    if (this.#acceptance) return this.#acceptance;
    if (this.#closeRequested || connection.state !== 'handshake') {
      return Promise.reject(new Error('cannot accept: the connection is already closed or refused'));
    }
    this.#acceptance = connection.accept(this.#listener).then(() => {
      if (this.#lifecycle === 'connecting') this.#lifecycle = 'open';
      // Nothing more to wait for: keep a shared settled promise rather than this one.
      this.#acceptance = ACCEPTED;
    });
    return this.#acceptance;
  }

  /** Sends one text frame; an object is JSON-serialised (once, however many sockets it goes to). */
  send(frame: OutgoingFrame): void {
    const connection = this.#requireConnection();
    if (connection.state === 'open') {
      if (!this.#closeRequested) connection.send(frame);
    } else if (connection.state === 'handshake') {
      throw new Error('send before accept');
    }
  }

  /**
   * Closes the connection. Before `accept`, a 4xxx code (see `CloseCode`: sign in needed, not
   * allowed, not found, gone) accepts the handshake and closes at once with that code and
   * `reason`, nothing sent before it, so a browser can tell why and stop retrying; any other code
   * refuses the handshake with HTTP 403.
   */
  close(code: number = CloseCode.Normal, reason?: string): void {
    const connection = this.#requireConnection();
    if (connection.state === 'handshake' && !this.#acceptance && code >= 4000 && code <= 4999) {
      const accepted = this.accept();
      this.#closeRequested = true;
      accepted.then(
        () => connection.close(code, reason),
        () => {
          // The socket was lost during the handshake: nothing to close.
        },
      );
      return;
    }
    this.#closeRequested = true;
    if (connection.state === 'handshake' && !this.#acceptance) connection.reject(403, reason ?? 'connection refused');
    else connection.close(code, reason);
  }

  /**
   * Whether the frame being handled came as a request (the client's `request`), which expects
   * `reply` or `replyError` before the hook that handles it settles (or `replyLater`).
   */
  protected get isRequest(): boolean {
    return this.#request?.state === 'open';
  }

  /** The request the calling hook handles, if it is this consumer's socket lane handling one. */
  get #request(): PendingRequest | null {
    const request = handling.getStore();
    return request !== undefined && request.consumer === this ? request : null;
  }

  /**
   * Answers the request being handled with `body`; the client's `request` resolves with it. Does
   * nothing when the frame did not come as a request, or was answered already. A request the
   * hook leaves unanswered is answered with the error `no_reply` once the hook settles.
   */
  protected reply(body: JsonValue): void {
    const request = this.#request;
    if (request?.state !== 'open') return;
    request.state = 'answered';
    this.#sendReply(request.ref, { ok: true, body });
  }

  /** Refuses the request being handled: the client's `request` rejects with `code` and `detail`. */
  protected replyError(code: FrameworkErrorCode, detail: string): void {
    const request = this.#request;
    if (request?.state !== 'open') return;
    request.state = 'answered';
    this.#sendReply(request.ref, { ok: false, code, detail });
  }

  /**
   * Takes the answer to the request being handled out of its hook, for an answer that comes later
   * (from a layer event, a timer). Answers nothing by itself: a responder never called leaves the
   * client's `request` to its timeout. `null` when the frame did not come as a request.
   */
  protected replyLater(): Responder | null {
    const request = this.#request;
    if (request?.state !== 'open') return null;
    request.state = 'deferred';
    let answered = false;
    const answer = (content: { ok: true; body: JsonValue } | { ok: false; code: string; detail: string }): void => {
      if (answered) return;
      answered = true;
      this.#sendReply(request.ref, content);
    };
    return {
      reply: (body) => answer({ ok: true, body }),
      error: (code, detail) => answer({ ok: false, code, detail }),
    };
  }

  /**
   * Whether this connection may join `group`: asked for each of `groups` before `connect` runs,
   * and on each later `groupAdd` (so again on every reconnect). The default allows every group.
   * `false` refuses with 4403 `not allowed`; throw `ConnectionRefused` for another code (4404 for
   * a room that must look like none).
   */
  authorizeGroup(_group: string): boolean | Promise<boolean> {
    return true;
  }

  /**
   * Joins a group now; it is left automatically on disconnect. For a group `authorizeGroup`
   * refuses, it rejects with `ConnectionRefused` (4403 by default), which closes the connection
   * with that code when the hook lets it through.
   */
  async groupAdd(group: string): Promise<void> {
    await this.#mayJoin(group);
    const layer = this.channelLayer;
    // concat makes an array of the exact length (a spread or a push leaves room for 16 more).
    if (!this.#joined.includes(group)) this.#joined = this.#joined.concat(group);
    await layer.groupAdd(group, this.#channelName);
  }

  /** Leaves a group now (one of `groups` too): its messages stop reaching this consumer. */
  async groupDiscard(group: string): Promise<void> {
    this.#joined = this.#joined.filter((joined) => joined !== group);
    await this.channelLayer.groupDiscard(group, this.#channelName);
  }

  /**
   * Sends one of this consumer's own event types to a group, typed by its event map;
   * `{ except: this.channelName }` sends it to everyone in the group but this consumer.
   */
  groupSend<K extends keyof E & string>(group: string, event: EventOf<E, K>, options?: GroupSendOptions): Promise<void> {
    return this.channelLayer.groupSend(group, event, options);
  }

  /** The server's channel layer, for what the helpers above do not cover; throws when there is none. */
  protected get channelLayer(): ChannelLayer {
    const layer = this.#env?.layer;
    if (!layer) throw new Error(`${this.constructor.name} needs a channel layer, and the server has none`);
    return layer;
  }

  /** The server's logger, once the consumer has started. */
  protected get logger(): Logger {
    const env = this.#env;
    if (!env) throw new Error('the consumer has not been started');
    return env.logger;
  }

  /** Bytes queued for this client and not yet written to the network. */
  protected get bufferedAmount(): number {
    return this.#connection?.bufferedAmount ?? 0;
  }

  /**
   * Resolves once everything sent so far has been handed to the network (or the connection is
   * gone): send a long run of frames a piece at a time, waiting on this between pieces, and the
   * client's reading sets the pace instead of the slow-reader limit closing it.
   */
  protected whenSent(): Promise<void> {
    return this.#connection?.whenSent() ?? Promise.resolve();
  }

  /**
   * Has `layerResync` run in the layer lane, after what waits there: for a consumer that learns
   * by other means (its store says its room holds more) that it may have missed messages.
   */
  protected requestResync(): void {
    this.#layer.resync();
  }

  /**
   * Which transport carries this connection: `websocket`, or `fallback` where the client's
   * network refused the upgrade. Nothing else differs; a consumer need not ask.
   */
  get transport(): Transport {
    return this.#connection?.transport ?? 'websocket';
  }

  /** Whether the connection is open (it may close while a hook awaits). */
  protected get isOpen(): boolean {
    return this.#connection?.state === 'open';
  }

  /**
   * Tracks this connection in `group`'s presence under `key` (one entry per key, however many
   * connections track it; the newest `meta` wins), and starts hearing the group's presence
   * through `presenceChanged`: the whole list now, then the changes. Tracking a group again
   * replaces the key or meta. Untracked on disconnect. Call it once the connection is accepted.
   *
   * @throws InvalidName for a bad group name; InvalidPresence for a key or meta out of bounds
   *   (see `MAX_PRESENCE_KEY_LENGTH`, `MAX_PRESENCE_META_BYTES`).
   */
  protected async track(group: string, key: string, meta: JsonObject): Promise<void> {
    if (this.#connection?.state === 'handshake') {
      throw new Error('track once the connection is accepted: the list it sends needs an open socket');
    }
    if (this.#lifecycle === 'closed') return;
    const connectionId = this.#channelName || randomUUID();
    const side = (this.#presence ??= new ConsumerPresence(this.presence, connectionId, (changed, change) => this.#presenceHeard(changed, change)));
    await side.track(group, key, meta);
    // The connection closed while this was tracking: its disconnect may have untracked first.
    if ((this.#lifecycle as Lifecycle) === 'closed') await side.untrackAll();
  }

  /** Stops tracking this connection in `group` and hearing of its presence. */
  protected async untrack(group: string): Promise<void> {
    await this.#presence?.untrack(group);
  }

  /**
   * A group this connection tracks itself in changed: called with the whole list first, then
   * with each (paced) change. The default sends the framework frames
   * `{"$":"presence","group","entries":[{"key","meta"}...]}` (sorted by key) and then
   * `{"$":"presence_diff","group","joins":[{"key","meta"}...],"leaves":["key"...]}`; override it
   * to send a frame of the app's own.
   */
  presenceChanged(group: string, change: PresenceChange): Hook {
    this.send(presenceFrame(group, change));
  }

  /** The server's presence tracker, to read any group's list; throws when there is none. */
  protected get presence(): PresenceTracker {
    const presence = this.#env?.presence;
    if (!presence) throw new Error(`${this.constructor.name} needs presence, and the server has none (it has no channel layer)`);
    return presence;
  }

  #presenceHeard(group: string, change: PresenceChange): void {
    if (this.#connection?.state !== 'open') return;
    try {
      const settled = this.presenceChanged(group, change);
      if (settled) settled.catch((error: unknown) => this.#crashed(error));
    } catch (error) {
      this.#crashed(error);
    }
  }

  async #leavePresence(): Promise<void> {
    await this.#presence?.untrackAll().catch((error: unknown) => {
      this.#env?.logger.warn('could not leave presence', { consumer: this.constructor.name, error });
    });
  }

  async #whenIdle(): Promise<void> {
    await Promise.all([this.#socket.whenDrained(), this.#layer.whenDrained()]);
  }

  /** @internal Runs the consumer on a connection; used by `consumerApplication`. */
  async [startConsumer](connection: Connection, env: Environment): Promise<void> {
    if (this.#lifecycle !== 'new') throw new Error('a consumer instance serves one connection');
    this.#connection = connection;
    this.#env = env;
    this.#lifecycle = 'connecting';
    const layer = env.layer;
    try {
      if (layer) {
        for (const group of this.groups) {
          const checking = this.#mayJoin(group);
          if (checking) await checking;
        }
        this.#channelName = layer.newChannel();
        layer.attach(this.#channelName, this.#layer);
        const sessionId = this.scope.sessionId;
        this.#joined = sessionId ? this.groups.concat(sessionGroup(sessionId)) : this.groups;
        for (const group of this.#joined) await layer.groupAdd(group, this.#channelName);
      } else if (this.groups.length > 0) {
        throw new Error(`${this.constructor.name} declares groups, and the server has no channel layer`);
      }
      await this.#runConnect();
    } catch (error) {
      // (widened: `accept` moves the lifecycle on while connect() runs)
      const wasOpen = (this.#lifecycle as Lifecycle) === 'open';
      this.#lifecycle = 'closed';
      await Promise.all([this.#leaveLayer(), this.#leavePresence()]);
      if (error instanceof ConnectionRefused && connection.state === 'handshake') {
        await closeAfterAccept(connection, error.code, error.reason);
        return;
      }
      if (connection.state === 'handshake') throw error;
      // A socket lost during the handshake (timeout, client gone) is not a bug in the consumer.
      if (wasOpen || connection.state !== 'closed') this.#crashed(error);
      return;
    }
    if (connection.state === 'handshake') {
      this.#lifecycle = 'closed';
      await this.#leaveLayer();
      throw new HandshakeError(403, `${this.constructor.name}.connect() returned without accepting`);
    }
    if ((this.#lifecycle as Lifecycle) !== 'closed') registerLiveConsumer(this, true);
  }

  /** Runs connect() with both lanes held, so nothing is handled before it returns. */
  async #runConnect(): Promise<void> {
    this.#socket.hold();
    this.#layer.hold();
    try {
      await this.connect();
      if (this.#acceptance) await this.#acceptance;
    } finally {
      this.#socket.release();
      this.#layer.release();
    }
  }

  get #listener(): ConnectionListener {
    return this.#socket;
  }

  /** The consumer fell `capacity` events behind: it cannot catch up, so the client must resume. */
  #overflowed(message: LayerMessage): void {
    this.#env?.logger.warn('consumer channel full, closing it', {
      consumer: this.constructor.name,
      channel: this.#channelName,
      eventType: message.type,
    });
    if (this.#connection?.state === 'open') this.close(CloseCode.TryAgainLater, 'too far behind');
  }

  /**
   * A framework frame: a ping is answered at once, outside the lane (it asks whether the line is
   * alive, not whether the consumer is idle); a request joins the lane like any frame.
   */
  #frameworkFrame(data: string): void {
    const connection = this.#connection;
    if (connection?.state !== 'open') return;
    const budget = (this.#frameworkBudget ??= new TokenBucket(FRAMEWORK_FRAME_BUDGET));
    const allowed = budget.take();
    // A client told and still sending is not a slow one: after enough refusals in a row it goes.
    if (!allowed && ++this.#frameworkRefusals >= FRAMEWORK_REFUSALS_BEFORE_CLOSE) {
      this.close(CloseCode.PolicyViolation, 'too many framework frames');
      return;
    }
    const frame = parseClientFrameworkFrame(data);
    if (!allowed) {
      this.#refuseFrameworkFrame(frame?.ref ?? null, 'rate_limited', 'too many framework frames; slow down');
      return;
    }
    this.#frameworkRefusals = 0;
    if (frame === null) {
      connection.send({ $: 'error', code: 'bad_frame', detail: 'a malformed framework frame' });
    } else if (frame.verb === 'ping') {
      connection.send(PONG);
    } else if (frame.verb !== 'req') {
      this.#refuseFrameworkFrame(frame.ref, 'unknown_type', `unknown framework frame ${JSON.stringify(frame.verb).slice(0, 40)}`);
    } else if (frame.ref === null || frame.text === null) {
      this.#refuseFrameworkFrame(frame.ref, 'bad_frame', 'a request needs a ref ([A-Za-z0-9_-]{1,32}) and a text');
    } else {
      this.#socket.push({ kind: 'request', ref: frame.ref, data: frame.text });
    }
  }

  /** Answers a framework frame it will not handle: under its ref when it had one, so a request does not wait out its timeout. */
  #refuseFrameworkFrame(ref: string | null, code: FrameworkErrorCode, detail: string): void {
    if (ref !== null) this.#sendReply(ref, { ok: false, code, detail });
    else this.#connection?.send({ $: 'error', code, detail });
  }

  #onRequest(ref: string, data: string): Hook {
    const request: PendingRequest = { consumer: this, ref, state: 'open' };
    let handled: Hook;
    try {
      handled = handling.run(request, () => this.receive(data));
    } catch (error) {
      // A bug: the connection closes with 1011; the request is told first.
      this.#requestFailed(request);
      throw error;
    }
    if (!(handled instanceof Promise)) {
      this.#requestHandled(request);
      return;
    }
    return handled.then(
      () => this.#requestHandled(request),
      (error: unknown) => {
        this.#requestFailed(request);
        throw error;
      },
    );
  }

  #requestHandled(request: PendingRequest): void {
    if (request.state !== 'open') return;
    request.state = 'answered';
    this.#sendReply(request.ref, { ok: false, code: 'no_reply', detail: 'the consumer did not answer this request' });
  }

  #requestFailed(request: PendingRequest): void {
    if (request.state !== 'open') return;
    request.state = 'answered';
    this.#sendReply(request.ref, { ok: false, code: 'internal_error', detail: 'the server failed while handling this request' });
  }

  #sendReply(ref: string, content: { ok: true; body: JsonValue } | { ok: false; code: string; detail: string }): void {
    if (this.#connection?.state === 'open') this.#connection.send({ $: 'reply', ref, ...content });
  }

  #onSocket(item: SocketItem): Hook {
    switch (item.kind) {
      case 'text':
        return this.receive(item.data);
      case 'request':
        return this.#onRequest(item.ref, item.data);
      case 'binary':
        return this.receiveBinary(item.data);
      case 'disconnect':
        return this.#onDisconnect(item.code);
    }
  }

  async #onDisconnect(code: number): Promise<void> {
    try {
      await this.disconnect(code);
    } finally {
      await Promise.all([this.#leaveLayer(), this.#leavePresence()]);
    }
  }

  #onLayer(message: LayerMessage): Hook {
    if (message !== RESYNC) return this.#dispatchEvent(message);
    this.#resyncPending = false;
    return this.#connection?.state === 'open' ? this.layerResync() : undefined;
  }

  #dispatchEvent(message: LayerMessage): Hook {
    // Events for a connection that is not (or no longer) open have nowhere to go.
    if (this.#connection?.state !== 'open') return;
    if (message.type === SESSION_ENDED) {
      this.close(CloseCode.SessionEnded, 'session ended');
      return;
    }
    const handler: unknown = (this as unknown as Record<string, unknown>)[message.type];
    if (typeof handler !== 'function') throw new NoHandler(message.type, this.constructor.name);
    return (handler as (event: LayerMessage) => Hook).call(this, message);
  }

  async #leaveLayer(): Promise<void> {
    const layer = this.#env?.layer;
    if (!layer || !this.#channelName) return;
    layer.detach(this.#channelName);
    const groups = this.#joined;
    this.#joined = NO_GROUPS;
    await Promise.all(
      groups.map((group) =>
        layer.groupDiscard(group, this.#channelName).catch((error: unknown) => {
          this.#env?.logger.warn('could not leave group', { group, error });
        }),
      ),
    );
  }

  /** Refuses `group` (a `ConnectionRefused`) unless `authorizeGroup` allows it. */
  #mayJoin(group: string): void | Promise<void> {
    const allowed = this.authorizeGroup(group);
    // The default answers true at once: no promise, no turn of the loop, for each connection.
    if (allowed === true) return;
    if (allowed === false) throw new ConnectionRefused(CloseCode.Forbidden, 'not allowed');
    return allowed.then((yes) => {
      if (!yes) throw new ConnectionRefused(CloseCode.Forbidden, 'not allowed');
    });
  }

  /**
   * A bug in a hook or handler: logged, and only this connection closes (1011). A
   * `ConnectionRefused` is no bug: the connection closes with its code and reason.
   */
  #crashed(error: unknown): void {
    if (error instanceof ConnectionRefused) {
      if (this.#connection?.state === 'open') this.#connection.close(error.code, error.reason);
      return;
    }
    this.#env?.logger.error('consumer error', { consumer: this.constructor.name, path: this.scope.path, error });
    const connection = this.#connection;
    if (connection?.state === 'open') connection.close(CloseCode.InternalError, 'internal error');
  }

  #requireConnection(): Connection {
    if (!this.#connection) throw new Error('the consumer has not been started');
    return this.#connection;
  }
}

/**
 * What routing needs of a consumer: a way to start it on a connection. Every `WebsocketConsumer`
 * is one; the method is the framework's own.
 */
export interface StartableConsumer {
  /** @internal */
  [startConsumer](connection: Connection, env: Environment): Promise<void>;
}

/** A function that makes the consumer of a connection from its scope; `route` takes one as well as a class. */
export type ConsumerFactory<P extends RouteParams> = (scope: Scope<P>) => StartableConsumer;
/** A consumer class: `route` makes one instance per connection, with the connection's scope. */
export type ConsumerClass<P extends RouteParams> = new (scope: Scope<P>) => StartableConsumer;

/** Turns a consumer class (or a function that makes a consumer) into an application. */
export function consumerApplication<P extends RouteParams>(
  consumer: ConsumerClass<P> | ConsumerFactory<P>,
): Application {
  const make: ConsumerFactory<P> = isConsumerClass(consumer) ? (scope) => new consumer(scope) : consumer;
  return (scope, connection, env) => make(scope as Scope<P>)[startConsumer](connection, env);
}

function isConsumerClass<P extends RouteParams>(
  value: ConsumerClass<P> | ConsumerFactory<P>,
): value is ConsumerClass<P> {
  return (value as { prototype?: unknown }).prototype instanceof WebsocketConsumer;
}

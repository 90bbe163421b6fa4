import { randomUUID } from 'node:crypto';
import type { Application, Environment } from './application';
import { CloseCode } from './close-codes';
import type { Connection, ConnectionListener, JsonObject, OutgoingFrame } from './connection';
import { HandshakeError, NoHandler } from './errors';
import { registerLiveConsumer } from './live-consumers';
import { Lane } from './lane';
import type { ChannelLayer, ChannelReceiver, LayerMessage } from './layers/types';
import type { Logger } from './logger';
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
      this.push({ kind: 'text', data });
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
    if (connection.state === 'open') connection.send(frame);
    else if (connection.state === 'handshake') throw new Error('send before accept');
  }

  /** Closes the connection; before `accept` this refuses the handshake with HTTP 403. */
  close(code: number = CloseCode.Normal, reason?: string): void {
    const connection = this.#requireConnection();
    this.#closeRequested = true;
    if (connection.state === 'handshake' && !this.#acceptance) connection.reject(403, reason ?? 'connection refused');
    else connection.close(code, reason);
  }

  /** Joins a group now; it is left automatically on disconnect. */
  async groupAdd(group: string): Promise<void> {
    const layer = this.channelLayer;
    if (!this.#joined.includes(group)) this.#joined = [...this.#joined, group];
    await layer.groupAdd(group, this.#channelName);
  }

  /** Leaves a group now (one of `groups` too): its messages stop reaching this consumer. */
  async groupDiscard(group: string): Promise<void> {
    this.#joined = this.#joined.filter((joined) => joined !== group);
    await this.channelLayer.groupDiscard(group, this.#channelName);
  }

  /** Sends one of this consumer's own event types to a group, typed by its event map. */
  groupSend<K extends keyof E & string>(group: string, event: EventOf<E, K>): Promise<void> {
    return this.channelLayer.groupSend(group, event);
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
        this.#channelName = layer.newChannel();
        layer.attach(this.#channelName, this.#layer);
        const sessionId = this.scope.sessionId;
        this.#joined = sessionId ? [...this.groups, sessionGroup(sessionId)] : this.groups;
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

  #onSocket(item: SocketItem): Hook {
    switch (item.kind) {
      case 'text':
        return this.receive(item.data);
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

  /** A bug in a hook or handler: logged, and only this connection closes (1011). */
  #crashed(error: unknown): void {
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

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { Application, Environment } from '../application';
import { CloseCode } from '../close-codes';
import { HandshakeError } from '../errors';
import { FlushPacer } from '../flush-pacer';
import { KeyedBuckets, type RateLimit } from '../rate-limit';
import type { ChannelLayer } from '../layers/types';
import type { Logger } from '../logger';
import { InMemoryPresence } from '../presence/in-memory';
import type { PresenceTracker } from '../presence/types';
import type { TransportMetrics } from '../metrics';
import { ProxyTrust } from './proxy-trust';
import { refuseUpgrade } from './refuse-upgrade';
import { type Scope, scopeFromRequest, TRANSPORT_PARAMETER } from '../scope';
import type { Connection } from '../connection';
import { answer, FallbackPosts } from './fallback-posts';
import { SseConnection } from './sse-connection';
import { type ConnectionServer, type ServerConnection, ServerWebSocket, type TransportLimits, WsConnection } from './ws-connection';

/** How a {@link SocketServer} is set up: the application, and the transport's limits. */
export interface SocketServerOptions {
  /** What runs on each connection: routing, middleware, consumers. */
  readonly application: Application;
  /** The channel layer consumers use; `null` for none (groups then fail). */
  readonly layer: ChannelLayer | null;
  /**
   * Who is present in each group, for `WebsocketConsumer.track` (default: an `InMemoryPresence`
   * when there is a layer, else none). Pass a `RedisPresence` when several processes serve one site.
   */
  readonly presence?: PresenceTracker | null;
  /** Where refused handshakes, crashes after the handshake and per-address refusals are logged. */
  readonly logger: Logger;
  /**
   * The process's write pacer, shared with everything else that writes to the network (the Redis
   * layer, a store that batches); a new one by default.
   */
  readonly pacer?: FlushPacer;
  /** Largest frame accepted; a bigger one closes the connection with 1009 (default 64 KiB). */
  readonly maxPayloadBytes?: number;
  /** Time from the upgrade request to `accept`, after which the socket is destroyed (default 10 s). */
  readonly handshakeTimeoutMs?: number;
  /** A protocol ping goes out this often; two unanswered pings end the connection (default 25 s). */
  readonly pingIntervalMs?: number;
  /** A peer with more than this queued and unread is closed with 1013 (default 1 MiB). */
  readonly maxBufferedBytes?: number;
  /** After sending a close frame, how long to wait for the peer's before dropping it (default 5 s). */
  readonly closeTimeoutMs?: number;
  /** Open and opening connections allowed per client address; more get HTTP 429 (default 50). */
  readonly maxConnectionsPerAddress?: number;
  /**
   * The proxies whose `X-Forwarded-For` gives the client address that the per-address cap
   * counts (default: none, the socket's peer is the client).
   */
  readonly trustProxy?: ProxyTrust;
  /** Counts connections, refusals, closes and frames. */
  readonly metrics?: TransportMetrics;
  /**
   * Serve the HTTP fallback (a server-sent-events stream and POSTs, for clients whose network
   * refuses the upgrade) through `handleHttp` (default true).
   */
  readonly fallback?: boolean;
  /** Largest fallback POST body; a bigger one gets 413 and is not read (default 256 KiB). */
  readonly maxPostBytes?: number;
  /** How long a fallback POST relayed to the process holding its stream waits for it (default 5 s). */
  readonly relayAckTimeoutMs?: number;
  /**
   * WebSocket probes (a client asking whether an upgrade gets through) one client address may
   * make: past it, 429 (default 60 per 10 s, bursts of 60).
   */
  readonly probeLimit?: RateLimit;
}

/** What `_channels=` asks of a request: open a stream, take a batch, or answer a probe. */
type FallbackRequest = 'sse' | 'send' | 'probe';

/** WebSocket probes one address may make: a client probes once per failed attempt, at most. */
const PROBES_PER_ADDRESS: RateLimit = { rate: 60, perMs: 10_000, burst: 60 };
/** How long a probe's socket waits for the client's close frame before it is dropped. */
const PROBE_LINGER_MS = 1_000;

/** Bytes the body of a stream's opening POST may have (it carries nothing). */
const MAX_OPEN_BODY_BYTES = 1024;

const SEC_WEBSOCKET_KEY = /^[+/0-9A-Za-z]{22}==$/;
/** The slices a ping interval is cut into, each pinging its share of the connections. */
const PING_SLICES = 25;

/**
 * The protocol server: takes HTTP upgrade requests, runs the application on each (routing,
 * middleware, consumer), and maps `ws` sockets onto the core's `Connection`. It owns the limits
 * that belong to the transport: payload size, handshake time, liveness, slow readers, and the
 * number of connections per client address.
 */
export class SocketServer {
  readonly #options: TransportLimits;
  readonly #metrics: TransportMetrics | null;
  readonly #application: Application;
  readonly #env: Environment;
  /** The presence this server made for itself (none given), closed with it. */
  readonly #ownPresence: InMemoryPresence | null;
  readonly #wss: WebSocketServer;
  /** What every connection shares, handed to each. */
  readonly #shared: ConnectionServer;
  readonly #connections = new Set<ServerConnection>();
  readonly #perAddress = new Map<string, number>();
  /**
   * Connections still in their handshake, by socket (an upgrade) or by themselves (a fallback
   * stream): one timer checks their deadlines.
   */
  readonly #handshaking = new Map<object, ServerConnection>();
  /** The fallback's POSTs; null when the fallback is off. */
  readonly #fallback: FallbackPosts | null;
  readonly #probes: KeyedBuckets;
  /**
   * One listener for every socket in its handshake (called with the socket as `this`), on 'end'
   * as well as 'close': an HTTP server's sockets allow half-open, so a client that goes away
   * before the handshake is over only ends its side, and would be counted until the timeout.
   */
  readonly #onCloseDuringHandshake: (this: Duplex) => void;
  #handshakeTimer: NodeJS.Timeout | null = null;
  #pingTimer: NodeJS.Timeout | null = null;
  /** The pass of pings under way: where it is, and how many connections each slice pings. */
  #pingPass: { readonly next: Iterator<ServerConnection>; readonly perSlice: number } | null = null;
  #lastPassAt = Number.NEGATIVE_INFINITY;
  #accepting = true;

  /** @param options the application, the layer and the limits. */
  constructor(options: SocketServerOptions) {
    this.#application = options.application;
    this.#ownPresence = options.presence === undefined && options.layer ? new InMemoryPresence() : null;
    this.#env = { layer: options.layer, logger: options.logger, presence: options.presence ?? this.#ownPresence };
    this.#metrics = options.metrics ?? null;
    this.#options = {
      maxPayloadBytes: options.maxPayloadBytes ?? 64 * 1024,
      handshakeTimeoutMs: options.handshakeTimeoutMs ?? 10_000,
      pingIntervalMs: options.pingIntervalMs ?? 25_000,
      maxBufferedBytes: options.maxBufferedBytes ?? 1024 * 1024,
      closeTimeoutMs: options.closeTimeoutMs ?? 5_000,
      maxConnectionsPerAddress: options.maxConnectionsPerAddress ?? 50,
      trustProxy: options.trustProxy ?? ProxyTrust.none,
    };
    this.#probes = new KeyedBuckets(options.probeLimit ?? PROBES_PER_ADDRESS);
    this.#wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      perMessageDeflate: false,
      maxPayload: this.#options.maxPayloadBytes,
      WebSocket: ServerWebSocket,
    });
    const handshaking = this.#handshaking;
    this.#onCloseDuringHandshake = function (this: Duplex) {
      handshaking.get(this)?.abandon('the client went away during the handshake');
    };
    this.#shared = {
      wss: this.#wss,
      limits: this.#options,
      metrics: this.#metrics,
      pacer: options.pacer ?? new FlushPacer(),
      handshakeOver: (connection, socket) => {
        const key = socket ?? connection;
        if (this.#handshaking.get(key) !== connection) return;
        this.#handshaking.delete(key);
        if (socket === undefined) return;
        socket.off('close', this.#onCloseDuringHandshake);
        socket.off('end', this.#onCloseDuringHandshake);
      },
      // ws's handshake is synchronous, and ends with the socket destroyed (closing, which the
      // 'close' watch sees) or taken over: no 'end' can come in between.
      upgrading: (socket) => socket.off('end', this.#onCloseDuringHandshake),
      upgraded: (socket) => socket.off('error', this.#onSocketError),
      released: this.#released,
    };
    this.#fallback =
      options.fallback === false
        ? null
        : new FallbackPosts({
            layer: options.layer,
            maxPostBytes: options.maxPostBytes ?? 256 * 1024,
            maxPayloadBytes: this.#options.maxPayloadBytes,
            relayAckTimeoutMs: options.relayAckTimeoutMs ?? 5_000,
            clientAddress: (req) => this.#options.trustProxy.clientAddress(req),
            metrics: this.#metrics,
          });
  }

  /** Open and opening connections. */
  get connectionCount(): number {
    return this.#connections.size;
  }

  /** Handles one `upgrade` event of an HTTP server. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', this.#onSocketError);
    if (!this.#accepting) return this.#refuse(socket, 503, 'the server is shutting down');
    if (!isWebsocketUpgrade(req)) return this.#refuse(socket, 400, 'not a valid WebSocket upgrade request');
    if (fallbackRequest(req) === 'probe') {
      // A client that lost its connection asks whether an upgrade gets through at all: it does.
      // Probes are few (one per failed attempt), are not counted as connections, and go at once.
      if (!this.#probes.take(this.#options.trustProxy.clientAddress(req))) return this.#refuse(socket, 429, 'too many probes from your address');
      this.#wss.handleUpgrade(req, socket, head, (probe) => {
        probe.close(CloseCode.Normal, 'probe');
        setTimeout(() => probe.terminate(), PROBE_LINGER_MS).unref();
      });
      return;
    }

    const scope = scopeFromRequest(req, { trustProxy: this.#options.trustProxy });
    const address = scope.client.address;
    if (!this.#admit(address)) return this.#refuse(socket, 429, 'too many connections from your address');

    const connection = new WsConnection(this.#shared, req, socket, head, address);
    this.#connections.add(connection);
    this.#handshaking.set(socket, connection);
    socket.on('close', this.#onCloseDuringHandshake);
    socket.on('end', this.#onCloseDuringHandshake);
    this.#startHandshakeTimer();
    this.#startPinging();

    this.#run(scope, connection);
  }

  /**
   * Handles a request of the HTTP fallback (its query holds `_channels`) and answers `true`;
   * answers `false`, touching nothing, for any other request, which is the app's to answer.
   * Call it first thing in the HTTP server's `request` handler, for the consumers' paths.
   */
  handleHttp(req: IncomingMessage, res: ServerResponse): boolean {
    const kind = fallbackRequest(req);
    if (kind === null || this.#fallback === null) return false;
    res.on('error', this.#onSocketError);
    // A server on its way down refuses new streams and probes as it refuses upgrades, so a
    // restart never looks like a network that blocks upgrades; batches for the streams still
    // open go on until they close.
    if (kind !== 'send' && !this.#accepting) {
      this.#refuseStream(res, 503, 'the server is shutting down');
      return true;
    }
    switch (kind) {
      case 'probe':
        answerProbe(req, res);
        break;
      case 'send':
        this.#fallback.handle(req, res);
        break;
      case 'sse':
        this.#openStream(req, res, this.#fallback);
        break;
    }
    return true;
  }

  #openStream(req: IncomingMessage, res: ServerResponse, fallback: FallbackPosts): void {
    if (req.method !== 'POST' && req.method !== 'GET') return answer(res, 405, 'open a stream with POST or GET', { Allow: 'GET, POST' });
    if (Number(req.headers['content-length'] ?? 0) > MAX_OPEN_BODY_BYTES) return this.#refuseStream(res, 413, 'a stream is opened with an empty body');
    let bodyBytes = 0;
    req.on('data', (chunk: Buffer) => {
      bodyBytes += chunk.length;
      if (bodyBytes > MAX_OPEN_BODY_BYTES) req.socket.destroy();
    });
    if (req.headers.origin === undefined && req.headers['sec-fetch-site'] === 'same-origin') {
      // A browser's same-origin GET (an EventSource) carries no Origin: its own host is its origin,
      // which the app's Origin check then judges as it would the header.
      req.headers.origin = `${this.#schemeOf(req)}://${req.headers.host ?? ''}`;
    }
    const scope = scopeFromRequest(req, { trustProxy: this.#options.trustProxy });
    const address = scope.client.address;
    if (!this.#admit(address)) return this.#refuseStream(res, 429, 'too many connections from your address');
    const origin = req.headers.origin;
    const connection = new SseConnection(this.#shared, res, address, fallback.newConnectionId(), typeof origin === 'string' ? origin : null);
    this.#connections.add(connection);
    this.#handshaking.set(connection, connection);
    fallback.register(connection);
    this.#startHandshakeTimer();
    this.#startPinging();
    this.#run(scope, connection);
  }

  #schemeOf(req: IncomingMessage): string {
    const forwarded = req.headers['x-forwarded-proto'];
    if (typeof forwarded === 'string' && this.#options.trustProxy.trusts(req.socket.remoteAddress ?? '')) {
      return forwarded.split(',')[0]!.trim().toLowerCase() === 'https' ? 'https' : 'http';
    }
    return 'encrypted' in req.socket && req.socket.encrypted ? 'https' : 'http';
  }

  /** Counts a new connection against its address's cap; false when the address is at the cap. */
  #admit(address: string): boolean {
    const count = this.#perAddress.get(address) ?? 0;
    if (count >= this.#options.maxConnectionsPerAddress) {
      this.#env.logger.warn('too many connections from one address', { address });
      return false;
    }
    this.#perAddress.set(address, count + 1);
    return true;
  }

  #refuseStream(res: ServerResponse, status: number, reason: string): void {
    this.#metrics?.refused(status);
    answer(res, status, reason);
  }

  /** Runs the application on a new connection, and answers what it throws as the handshake allows. */
  #run(scope: Scope, connection: Connection): void {
    this.#application(scope, connection, this.#env).catch((error: unknown) => {
      if (connection.state !== 'handshake') {
        this.#env.logger.error('application error after the handshake', { path: scope.path, error });
        connection.close(CloseCode.InternalError, 'internal error');
        return;
      }
      if (error instanceof HandshakeError) {
        this.#env.logger.info('handshake refused', { path: scope.path, status: error.status, reason: error.message });
        connection.reject(error.status, error.message);
      } else {
        this.#env.logger.error('application error during the handshake', { path: scope.path, error });
        connection.reject(500, 'internal error');
      }
    });
  }

  // One of each for all sockets, rather than a closure per socket.
  readonly #onSocketError = (error: Error): void => this.#env.logger.debug('socket error', { error });

  readonly #released = (connection: ServerConnection): void => {
    this.#connections.delete(connection);
    if (connection instanceof SseConnection) this.#fallback?.forget(connection);
    const left = (this.#perAddress.get(connection.address) ?? 1) - 1;
    if (left > 0) this.#perAddress.set(connection.address, left);
    else this.#perAddress.delete(connection.address);
  };

  #refuse(socket: Duplex, status: number, reason: string): void {
    this.#metrics?.refused(status);
    refuseUpgrade(socket, status, reason);
  }

  /**
   * Stops taking connections and closes every open one with `code` (1001 by default); resolves
   * when all are gone (dropping any that have not answered within the close timeout) and their
   * consumers have finished what they were doing, such as storing a message.
   */
  async shutdown(code: number = CloseCode.GoingAway): Promise<void> {
    this.#accepting = false;
    await Promise.all([...this.#connections].map((connection) => connection.shutdown(code)));
    if (this.#pingTimer) clearInterval(this.#pingTimer);
    this.#pingTimer = null;
    this.#pingPass = null;
    if (this.#handshakeTimer) clearInterval(this.#handshakeTimer);
    this.#handshakeTimer = null;
    this.#wss.close();
    this.#fallback?.close();
    await this.#ownPresence?.close();
  }

  /**
   * Abandons the handshakes past their deadline, checking a few times per timeout (at most once
   * a second), while any are in progress: one timer for all, not one per connection.
   */
  #startHandshakeTimer(): void {
    if (this.#handshakeTimer) return;
    const everyMs = Math.min(1_000, Math.max(5, Math.floor(this.#options.handshakeTimeoutMs / 4)));
    this.#handshakeTimer = setInterval(() => {
      const now = Date.now();
      for (const connection of this.#handshaking.values()) {
        if (connection.handshakeDeadline <= now) connection.abandon('handshake timed out');
      }
      if (this.#handshaking.size === 0 && this.#handshakeTimer) {
        clearInterval(this.#handshakeTimer);
        this.#handshakeTimer = null;
      }
    }, everyMs);
    this.#handshakeTimer.unref();
  }

  /**
   * Pings every connection once per interval, a slice of them at a time: a burst of thousands
   * of pings (and their pongs) at once would stall the process and leave garbage its heap grows
   * for. A pass over the connections starts at most once per interval.
   */
  #startPinging(): void {
    if (this.#pingTimer) return;
    this.#pingTimer = setInterval(() => this.#pingSlice(), Math.max(1, this.#options.pingIntervalMs / PING_SLICES));
    this.#pingTimer.unref();
  }

  #pingSlice(): void {
    if (this.#connections.size === 0) {
      if (this.#pingTimer) clearInterval(this.#pingTimer);
      this.#pingTimer = null;
      this.#pingPass = null;
      return;
    }
    let pass = this.#pingPass;
    if (pass === null) {
      const now = Date.now();
      if (now - this.#lastPassAt < this.#options.pingIntervalMs) return;
      this.#lastPassAt = now;
      pass = { next: this.#connections.values(), perSlice: Math.ceil(this.#connections.size / PING_SLICES) };
      this.#pingPass = pass;
    }
    for (let left = pass.perSlice; left > 0; left--) {
      const next = pass.next.next();
      if (next.done) {
        this.#pingPass = null;
        return;
      }
      next.value.heartbeat();
    }
  }
}

/** Which fallback request `req` is, by its `_channels` query parameter; null for none. */
function fallbackRequest(req: IncomingMessage): FallbackRequest | null {
  const url = req.url ?? '';
  const queryStart = url.indexOf('?');
  if (queryStart === -1 || !url.includes(TRANSPORT_PARAMETER, queryStart)) return null;
  const kind = new URLSearchParams(url.slice(queryStart + 1)).get(TRANSPORT_PARAMETER);
  return kind === 'sse' || kind === 'send' || kind === 'probe' ? kind : null;
}

/** The HTTP half of the probe: it answers, so an upgrade that fails is being refused on the way. */
function answerProbe(req: IncomingMessage, res: ServerResponse): void {
  req.resume();
  res.writeHead(204, { 'X-Channels-Probe': '1', 'Cache-Control': 'no-store' }).end();
}

function isWebsocketUpgrade(req: IncomingMessage): boolean {
  const key = req.headers['sec-websocket-key'];
  const version = req.headers['sec-websocket-version'];
  return (
    req.method === 'GET' &&
    req.headers.upgrade?.toLowerCase() === 'websocket' &&
    typeof key === 'string' &&
    SEC_WEBSOCKET_KEY.test(key.trim()) &&
    (version === '13' || version === '8')
  );
}

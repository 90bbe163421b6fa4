import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TransportMetrics } from '../metrics';
import { peerAddress, ProxyTrust } from './proxy-trust';

/** Limits on the HTTP sockets of one server (see `createGuardedServer`). */
export interface HttpGuardOptions {
  /**
   * Time for a request's head to arrive, from the connection or from the first byte of a
   * keep-alive socket's next request; then the socket is answered 408 and closed (default 10 s).
   */
  readonly headersTimeoutMs?: number;
  /** Time for a whole request, head and body, to arrive; then 408 and closed (default 30 s). */
  readonly requestTimeoutMs?: number;
  /** How long a keep-alive socket may wait for its next request (default 5 s). */
  readonly keepAliveTimeoutMs?: number;
  /** How often the two deadlines above are checked: a socket may outlive one by this much (default 1 s). */
  readonly checkIntervalMs?: number;
  /**
   * Sockets per client address with no request in progress: waiting for a request's head, or
   * idle between keep-alive requests (default 50). Past it, the address's longest-idle
   * keep-alive socket is closed to make room, or, when it has none, the new connection is
   * answered 429 and closed at once. Sockets carrying a request, or upgraded to a WebSocket
   * (which the `SocketServer` counts), are not counted.
   */
  readonly maxIdleSocketsPerAddress?: number;
  /**
   * Proxies whose sockets are not counted per address: before a request's head arrives nothing
   * tells which client a proxy's socket is for, and a proxy's idle keep-alive sockets serve all
   * of its clients. Such a proxy bounds its clients' slow heads itself (nginx reads a whole
   * request head before it opens a socket to the backend); the timeouts apply to it all the same.
   */
  readonly trustProxy?: ProxyTrust;
  /** Counts the sockets dropped for the per-address cap. */
  readonly metrics?: TransportMetrics;
}

const TOO_MANY_REQUESTS = Buffer.from('HTTP/1.1 429 Too Many Requests\r\nConnection: close\r\nContent-Length: 0\r\n\r\n', 'latin1');

/**
 * An HTTP server whose sockets cannot be held open for nothing: request heads and bodies must
 * arrive within timeouts that suit a chat (Node's defaults let a silent socket stay 60-90 s),
 * and each client address may hold only so many sockets with no request in progress. Add
 * listeners and call `listen` as on any `http.Server`.
 *
 * @example
 * const server = createGuardedServer({ maxIdleSocketsPerAddress: 50, trustProxy: ProxyTrust.parse('127.0.0.1') });
 * server.on('request', handle);
 * server.on('upgrade', (req, socket, head) => sockets.handleUpgrade(req, socket, head));
 * server.listen(3000);
 */
export function createGuardedServer(options: HttpGuardOptions = {}): Server {
  const server = createServer({
    headersTimeout: options.headersTimeoutMs ?? 10_000,
    requestTimeout: options.requestTimeoutMs ?? 30_000,
    keepAliveTimeout: options.keepAliveTimeoutMs ?? 5_000,
    connectionsCheckingInterval: options.checkIntervalMs ?? 1_000,
  });
  new IdleSocketCap(server, options.maxIdleSocketsPerAddress ?? 50, options.trustProxy ?? ProxyTrust.none, options.metrics ?? null);
  return server;
}

interface Tracked {
  readonly address: string;
  /** Requests received and not yet answered (several when pipelined). */
  requests: number;
  /** Counted among its address's sockets with no request in progress. */
  idle: boolean;
  /** Has had a request answered: a keep-alive socket, which may be closed to make room. */
  served: boolean;
}

interface AddressSockets {
  idle: number;
  /** The idle keep-alive sockets, longest idle first. */
  readonly keepAlive: Set<Socket>;
}

/** Counts each address's sockets that have no request in progress, and keeps them under a cap. */
class IdleSocketCap {
  readonly #max: number;
  readonly #trust: ProxyTrust;
  readonly #metrics: TransportMetrics | null;
  readonly #sockets = new Map<Socket, Tracked>();
  readonly #byAddress = new Map<string, AddressSockets>();

  constructor(server: Server, max: number, trust: ProxyTrust, metrics: TransportMetrics | null) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`maxIdleSocketsPerAddress must be a whole number from 1, got ${max}`);
    this.#max = max;
    this.#trust = trust;
    this.#metrics = metrics;
    // Before Node's own listener, so a refused socket is dropped before anything reads it.
    server.prependListener('connection', (socket: Socket) => this.#connected(socket));
    server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => this.#request(req, res));
    // An upgraded socket leaves HTTP. Node hands an upgrade request to 'upgrade' listeners only
    // when there are some (else it is a plain request): this one is there only while another is.
    const upgraded = (_req: IncomingMessage, socket: Duplex): void => {
      this.#forget(socket as Socket);
      // Off the socket's list too: an upgraded socket lives long, and its listeners with it.
      socket.off('close', this.#onSocketClose);
    };
    server.on('newListener', (event: string | symbol, listener: unknown) => {
      if (event === 'upgrade' && listener !== upgraded && !server.listeners('upgrade').includes(upgraded)) server.prependListener('upgrade', upgraded);
    });
    server.on('removeListener', (event: string | symbol, listener: unknown) => {
      if (event === 'upgrade' && listener !== upgraded && server.listenerCount('upgrade') === 1) server.off('upgrade', upgraded);
    });
  }

  #connected(socket: Socket): void {
    const address = peerAddress(socket);
    if (this.#trust.trusts(address)) return;
    const sockets = this.#byAddress.get(address);
    if (sockets !== undefined && sockets.idle >= this.#max && !this.#closeLongestIdle(sockets)) {
      this.#metrics?.httpDropped('refused');
      socket.on('error', ignore);
      // Written at once into an empty send buffer; what the client sent is never read.
      socket.write(TOO_MANY_REQUESTS);
      socket.destroy();
      return;
    }
    const tracked: Tracked = { address, requests: 0, idle: false, served: false };
    this.#sockets.set(socket, tracked);
    this.#countIdle(socket, tracked);
    socket.once('close', this.#onSocketClose);
  }

  /** One listener for every socket (called with the socket as `this`), rather than a closure each. */
  readonly #onSocketClose = ((cap: IdleSocketCap) =>
    function (this: Socket): void {
      cap.#forget(this);
    })(this);

  #request(req: IncomingMessage, res: ServerResponse): void {
    const socket = req.socket;
    const tracked = this.#sockets.get(socket);
    if (tracked === undefined) return;
    tracked.requests++;
    this.#uncountIdle(socket, tracked);
    res.once('close', () => this.#answered(socket, tracked));
  }

  #answered(socket: Socket, tracked: Tracked): void {
    if (this.#sockets.get(socket) !== tracked || --tracked.requests > 0) return;
    // A response that ends its connection leaves a socket about to close, not one that waits.
    if (socket.destroyed || socket.writableEnded) return this.#forget(socket);
    tracked.served = true;
    const sockets = this.#countIdle(socket, tracked);
    if (sockets.idle > this.#max) this.#closeLongestIdle(sockets);
  }

  #countIdle(socket: Socket, tracked: Tracked): AddressSockets {
    let sockets = this.#byAddress.get(tracked.address);
    if (sockets === undefined) {
      sockets = { idle: 0, keepAlive: new Set() };
      this.#byAddress.set(tracked.address, sockets);
    }
    if (!tracked.idle) {
      tracked.idle = true;
      sockets.idle++;
      if (tracked.served) sockets.keepAlive.add(socket);
    }
    return sockets;
  }

  #uncountIdle(socket: Socket, tracked: Tracked): void {
    if (!tracked.idle) return;
    tracked.idle = false;
    const sockets = this.#byAddress.get(tracked.address)!;
    sockets.idle--;
    sockets.keepAlive.delete(socket);
    if (sockets.idle === 0) this.#byAddress.delete(tracked.address);
  }

  #forget(socket: Socket): void {
    const tracked = this.#sockets.get(socket);
    if (tracked === undefined) return;
    this.#uncountIdle(socket, tracked);
    this.#sockets.delete(socket);
  }

  /** Closes the address's longest-idle keep-alive socket; false when it has none. */
  #closeLongestIdle(sockets: AddressSockets): boolean {
    const [longest] = sockets.keepAlive;
    if (longest === undefined) return false;
    this.#forget(longest);
    longest.destroy();
    this.#metrics?.httpDropped('idle_closed');
    return true;
  }
}

function ignore(): void {}

import type { IncomingMessage } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Application, Environment } from './application';
import { CloseCode } from './close-codes';
import type { Connection, ConnectionListener, ConnectionState, OutgoingFrame } from './connection';
import { HandshakeError } from './errors';
import { encodeFrame } from './frames';
import type { ChannelLayer } from './layers/types';
import type { Logger } from './logger';
import { scopeFromRequest } from './scope';

export interface SocketServerOptions {
  readonly application: Application;
  readonly layer: ChannelLayer | null;
  readonly logger: Logger;
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
  /** Take the client address from `X-Forwarded-For`. */
  readonly trustProxy?: boolean;
}

const SEC_WEBSOCKET_KEY = /^[+/0-9A-Za-z]{22}==$/;

/**
 * The protocol server: takes HTTP upgrade requests, runs the application on each (routing,
 * middleware, consumer), and maps `ws` sockets onto the core's `Connection`. It owns the limits
 * that belong to the transport: payload size, handshake time, liveness, slow readers, and the
 * number of connections per client address.
 */
export class SocketServer {
  readonly #options: Required<Omit<SocketServerOptions, 'layer' | 'application' | 'logger'>>;
  readonly #application: Application;
  readonly #env: Environment;
  readonly #wss: WebSocketServer;
  readonly #connections = new Set<WsConnection>();
  readonly #perAddress = new Map<string, number>();
  #pingTimer: NodeJS.Timeout | null = null;
  #accepting = true;

  constructor(options: SocketServerOptions) {
    this.#application = options.application;
    this.#env = { layer: options.layer, logger: options.logger };
    this.#options = {
      maxPayloadBytes: options.maxPayloadBytes ?? 64 * 1024,
      handshakeTimeoutMs: options.handshakeTimeoutMs ?? 10_000,
      pingIntervalMs: options.pingIntervalMs ?? 25_000,
      maxBufferedBytes: options.maxBufferedBytes ?? 1024 * 1024,
      closeTimeoutMs: options.closeTimeoutMs ?? 5_000,
      maxConnectionsPerAddress: options.maxConnectionsPerAddress ?? 50,
      trustProxy: options.trustProxy ?? false,
    };
    this.#wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      perMessageDeflate: false,
      maxPayload: this.#options.maxPayloadBytes,
    });
  }

  /** Open and opening connections. */
  get connectionCount(): number {
    return this.#connections.size;
  }

  /** Handles one `upgrade` event of an HTTP server. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', (error) => this.#env.logger.debug('socket error', { error }));
    if (!this.#accepting) return refuseUpgrade(socket, 503, 'the server is shutting down');
    if (!isWebsocketUpgrade(req)) return refuseUpgrade(socket, 400, 'not a valid WebSocket upgrade request');

    const scope = scopeFromRequest(req, { trustProxy: this.#options.trustProxy });
    const address = scope.client.address;
    const count = this.#perAddress.get(address) ?? 0;
    if (count >= this.#options.maxConnectionsPerAddress) {
      this.#env.logger.warn('too many connections from one address', { address });
      return refuseUpgrade(socket, 429, 'too many connections from your address');
    }
    this.#perAddress.set(address, count + 1);

    const connection = new WsConnection(this.#wss, req, socket, head, this.#options, () => {
      this.#connections.delete(connection);
      const left = (this.#perAddress.get(address) ?? 1) - 1;
      if (left > 0) this.#perAddress.set(address, left);
      else this.#perAddress.delete(address);
    });
    this.#connections.add(connection);
    this.#startPinging();

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

  /**
   * Stops taking connections and closes every open one with `code` (1001 by default); resolves
   * when all are gone, dropping any that have not answered within the close timeout.
   */
  async shutdown(code: number = CloseCode.GoingAway): Promise<void> {
    this.#accepting = false;
    await Promise.all([...this.#connections].map((connection) => connection.shutdown(code)));
    if (this.#pingTimer) clearInterval(this.#pingTimer);
    this.#pingTimer = null;
    this.#wss.close();
  }

  #startPinging(): void {
    if (this.#pingTimer) return;
    this.#pingTimer = setInterval(() => {
      for (const connection of this.#connections) connection.heartbeat();
      if (this.#connections.size === 0 && this.#pingTimer) {
        clearInterval(this.#pingTimer);
        this.#pingTimer = null;
      }
    }, this.#options.pingIntervalMs);
    this.#pingTimer.unref();
  }
}

/** Answers an upgrade request with an HTTP error instead of a handshake, and drops the socket. */
export function refuseUpgrade(socket: Duplex, status: number, reason: string): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = `${reason}\n`;
  socket.once('finish', () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n` +
      'Connection: close\r\n' +
      'Content-Type: text/plain; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      '\r\n' +
      body,
  );
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

type WsLimits = Required<Omit<SocketServerOptions, 'layer' | 'application' | 'logger'>>;

/** One socket, from the upgrade request until it is gone. */
class WsConnection implements Connection {
  state: ConnectionState = 'handshake';
  readonly #wss: WebSocketServer;
  readonly #req: IncomingMessage;
  readonly #socket: Duplex;
  readonly #head: Buffer;
  readonly #limits: WsLimits;
  readonly #released: () => void;
  #ws: WebSocket | null = null;
  #listener: ConnectionListener | null = null;
  #missedPongs = 0;
  #handshakeTimer: NodeJS.Timeout | null;
  #closeTimer: NodeJS.Timeout | null = null;
  #lostDuringHandshake: ((error: Error) => void) | null = null;
  #finished = false;
  #closedPromise: Promise<void>;
  #markClosed!: () => void;

  constructor(wss: WebSocketServer, req: IncomingMessage, socket: Duplex, head: Buffer, limits: WsLimits, released: () => void) {
    this.#wss = wss;
    this.#req = req;
    this.#socket = socket;
    this.#head = head;
    this.#limits = limits;
    this.#released = released;
    this.#closedPromise = new Promise((resolve) => {
      this.#markClosed = resolve;
    });
    this.#handshakeTimer = setTimeout(() => this.#abandon('handshake timed out'), limits.handshakeTimeoutMs);
    socket.once('close', this.#onSocketCloseDuringHandshake);
  }

  get bufferedAmount(): number {
    return this.#ws?.bufferedAmount ?? 0;
  }

  accept(listener: ConnectionListener): Promise<void> {
    if (this.state !== 'handshake') return Promise.reject(new Error(`cannot accept a connection that is ${this.state}`));
    return new Promise((resolve, reject) => {
      this.#lostDuringHandshake = reject;
      this.#wss.handleUpgrade(this.#req, this.#socket, this.#head, (ws) => {
        this.#lostDuringHandshake = null;
        this.#clearHandshake();
        if (this.state !== 'handshake') {
          ws.terminate();
          reject(new Error('the connection was closed during the handshake'));
          return;
        }
        this.#ws = ws;
        this.#listener = listener;
        this.state = 'open';
        ws.on('message', this.#onMessage);
        ws.on('pong', this.#onPong);
        ws.on('close', this.#onClose);
        ws.on('error', () => {
          // ws closes the socket itself after an error (1002, 1007, 1009); 'close' follows.
        });
        resolve();
      });
    });
  }

  reject(status: number, reason: string): void {
    if (this.state !== 'handshake') return;
    this.#clearHandshake();
    this.state = 'closed';
    refuseUpgrade(this.#socket, status, reason);
    this.#finish();
  }

  send(frame: OutgoingFrame): void {
    const ws = this.#ws;
    if (this.state !== 'open' || ws === null) return;
    ws.send(encodeFrame(frame), { binary: false });
    if (ws.bufferedAmount > this.#limits.maxBufferedBytes) {
      // The peer stopped reading. Everyone else keeps going; this one may reconnect and resume.
      this.close(CloseCode.TryAgainLater, 'not reading fast enough');
    }
  }

  close(code: number, reason?: string): void {
    if (this.state === 'handshake') {
      this.reject(403, reason ?? 'connection refused');
      return;
    }
    if (this.state !== 'open' || this.#ws === null) return;
    this.state = 'closing';
    this.#ws.close(code, reason);
    this.#closeTimer = setTimeout(() => this.#ws?.terminate(), this.#limits.closeTimeoutMs);
  }

  /** One tick of the liveness check: two unanswered pings in a row end the connection. */
  heartbeat(): void {
    const ws = this.#ws;
    if (this.state !== 'open' || ws === null) return;
    if (this.#missedPongs >= 2) {
      ws.terminate();
      return;
    }
    this.#missedPongs++;
    ws.ping();
  }

  shutdown(code: number): Promise<void> {
    if (this.state === 'handshake') this.reject(503, 'the server is shutting down');
    else this.close(code, 'server shutting down');
    return this.#closedPromise;
  }

  readonly #onMessage = (data: Buffer, isBinary: boolean): void => {
    this.#missedPongs = 0;
    if (this.state !== 'open') return;
    if (isBinary) this.#listener?.binary(data);
    else this.#listener?.text(data.toString('utf8'));
  };

  readonly #onPong = (): void => {
    this.#missedPongs = 0;
  };

  readonly #onClose = (code: number): void => {
    if (this.#closeTimer) clearTimeout(this.#closeTimer);
    this.state = 'closed';
    this.#listener?.closed(code);
    this.#finish();
  };

  readonly #onSocketCloseDuringHandshake = (): void => {
    if (this.state !== 'handshake') return;
    this.#abandon('the client went away during the handshake');
  };

  #abandon(reason: string): void {
    if (this.state !== 'handshake') return;
    this.#clearHandshake();
    this.state = 'closed';
    this.#socket.destroy();
    this.#lostDuringHandshake?.(new Error(reason));
    this.#lostDuringHandshake = null;
    this.#finish();
  }

  #clearHandshake(): void {
    if (this.#handshakeTimer) clearTimeout(this.#handshakeTimer);
    this.#handshakeTimer = null;
    this.#socket.off('close', this.#onSocketCloseDuringHandshake);
  }

  #finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#released();
    this.#markClosed();
  }
}

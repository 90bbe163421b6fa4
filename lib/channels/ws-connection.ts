import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, type WebSocketServer } from 'ws';
import { CloseCode } from './close-codes';
import type { Connection, ConnectionListener, ConnectionState, OutgoingFrame } from './connection';
import { encodeTextFrame } from './frames';
import type { TransportMetrics } from './metrics';
import { refuseUpgrade } from './refuse-upgrade';
import { SocketWriter } from './socket-writer';

/** The transport limits a connection enforces (see `SocketServerOptions`). */
export interface TransportLimits {
  readonly maxPayloadBytes: number;
  readonly handshakeTimeoutMs: number;
  readonly pingIntervalMs: number;
  readonly maxBufferedBytes: number;
  readonly closeTimeoutMs: number;
  readonly maxConnectionsPerAddress: number;
  readonly trustProxy: boolean;
}


/**
 * ws's socket, which hands its events to its connection by a method call rather than through
 * listeners: an EventEmitter's table of four listeners costs a few hundred bytes per idle
 * connection, and a call is cheaper than an emit. The transport's `WebSocketServer` makes these
 * (its `WebSocket` option).
 */
export class ServerWebSocket extends WebSocket {
  connection: WsConnection | null = null;

  override emit(event: string | symbol, ...args: unknown[]): boolean {
    // ws closes the socket itself after a protocol error (1002, 1007, 1009) and 'close' follows;
    // an emitter without an 'error' listener would throw it instead.
    if (event === 'error') return true;
    const connection = this.connection;
    if (connection === null) return super.emit(event, ...args);
    switch (event) {
      case 'message':
        connection.received(args[0] as Buffer, args[1] as boolean);
        return true;
      case 'pong':
        connection.ponged();
        return true;
      case 'close':
        connection.socketClosed(args[0] as number);
        return true;
      default:
        return super.emit(event, ...args);
    }
  }
}

/**
 * One socket, from the upgrade request until it is gone. It holds thousands of idle peers on a
 * busy server, so it keeps little: the request goes once the handshake is done, and the handlers
 * it gives ws are shared by every connection.
 */
export class WsConnection implements Connection {
  state: ConnectionState = 'handshake';
  /** The client's address, as the transport counts connections per address. */
  readonly address: string;
  readonly #wss: WebSocketServer;
  #req: IncomingMessage | null;
  readonly #socket: Duplex;
  #head: Buffer | null;
  readonly #limits: TransportLimits;
  readonly #metrics: TransportMetrics | null;
  readonly #released: (connection: WsConnection) => void;
  #ws: ServerWebSocket | null = null;
  /** Frames go straight to the socket, framed once per broadcast (see `SocketWriter`); ws reads. */
  #writer: SocketWriter | null = null;
  #listener: ConnectionListener | null = null;
  #missedPongs = 0;
  /** The code this side closed with, when it closed first (what the metrics count). */
  #closedWith: number | null = null;
  #handshakeTimer: NodeJS.Timeout | null;
  #closeTimer: NodeJS.Timeout | null = null;
  #lostDuringHandshake: ((error: Error) => void) | null = null;
  #onSocketCloseDuringHandshake: (() => void) | null;
  #finished = false;
  /** Made only when someone waits for the end (shutdown). */
  #gone: { readonly promise: Promise<void>; readonly resolve: () => void } | null = null;

  constructor(parts: {
    wss: WebSocketServer;
    req: IncomingMessage;
    socket: Duplex;
    head: Buffer;
    address: string;
    limits: TransportLimits;
    metrics: TransportMetrics | null;
    /** Called once when the connection is gone, however it went. */
    released: (connection: WsConnection) => void;
  }) {
    this.#wss = parts.wss;
    this.#req = parts.req;
    this.#socket = parts.socket;
    this.#head = parts.head;
    this.address = parts.address;
    this.#limits = parts.limits;
    this.#metrics = parts.metrics;
    this.#released = parts.released;
    const { socket, limits } = parts;
    this.#handshakeTimer = setTimeout(() => this.#abandon('handshake timed out'), limits.handshakeTimeoutMs);
    this.#onSocketCloseDuringHandshake = () => this.#abandon('the client went away during the handshake');
    socket.once('close', this.#onSocketCloseDuringHandshake);
  }

  get bufferedAmount(): number {
    return this.#writer?.bufferedBytes ?? 0;
  }

  accept(listener: ConnectionListener): Promise<void> {
    if (this.state !== 'handshake') return Promise.reject(new Error(`cannot accept a connection that is ${this.state}`));
    return new Promise((resolve, reject) => {
      this.#lostDuringHandshake = reject;
      // ws writes its 101 response at once; corked, it waits for the consumer's first frames
      // (welcome, history...) and all go out in one write. A refused handshake ends the socket,
      // which uncorks it.
      this.#socket.cork();
      this.#wss.handleUpgrade(this.#req!, this.#socket, this.#head!, (socket) => {
        const ws = socket as ServerWebSocket;
        this.#lostDuringHandshake = null;
        this.#clearHandshake();
        if (this.state !== 'handshake') {
          ws.terminate();
          reject(new Error('the connection was closed during the handshake'));
          return;
        }
        this.#ws = ws;
        this.#writer = new SocketWriter(this.#socket);
        this.#writer.releaseCorkAtFlush();
        this.#listener = listener;
        this.state = 'open';
        this.#metrics?.opened();
        ws.connection = this;
        resolve();
      });
    });
  }

  reject(status: number, reason: string): void {
    if (this.state !== 'handshake') return;
    this.#metrics?.refused(status);
    this.#clearHandshake();
    this.state = 'closed';
    refuseUpgrade(this.#socket, status, reason);
    this.#finish();
  }

  send(frame: OutgoingFrame): void {
    const writer = this.#writer;
    if (this.state !== 'open' || writer === null) return;
    // Nothing else writes data frames on this socket, and ws's own control frames (pong, ping,
    // close) are whole frames too, so frames never interleave.
    writer.queue(encodeTextFrame(frame));
    this.#metrics?.sent();
    if (writer.bufferedBytes > this.#limits.maxBufferedBytes) {
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
    this.#closedWith = code;
    // What was sent before the close goes first; a peer too slow to read it is dropped anyway.
    if (code === CloseCode.TryAgainLater) this.#writer?.discard();
    else this.#writer?.flush();
    this.#ws.close(code, reason);
    this.#closeTimer = setTimeout(() => this.#ws?.terminate(), this.#limits.closeTimeoutMs);
  }

  /** One tick of the liveness check: two unanswered pings in a row end the connection. */
  heartbeat(): void {
    const ws = this.#ws;
    if (this.state !== 'open' || ws === null) return;
    if (this.#missedPongs >= 2) {
      this.#closedWith = CloseCode.Abnormal;
      ws.terminate();
      return;
    }
    this.#missedPongs++;
    ws.ping();
  }

  /** Closes with `code`; resolves once the socket is gone and its consumer has finished its work. */
  async shutdown(code: number): Promise<void> {
    if (this.state === 'handshake') this.reject(503, 'the server is shutting down');
    else this.close(code, 'server shutting down');
    if (!this.#finished) {
      if (!this.#gone) {
        let resolve!: () => void;
        const promise = new Promise<void>((done) => (resolve = done));
        this.#gone = { promise, resolve };
      }
      await this.#gone.promise;
    }
    await this.#listener?.whenIdle();
  }

  /** A message from the peer (called by `ServerWebSocket`). */
  received(data: Buffer, isBinary: boolean): void {
    this.#missedPongs = 0;
    this.#metrics?.received();
    if (this.state !== 'open') return;
    if (isBinary) this.#listener?.binary(data);
    else this.#listener?.text(data.toString('utf8'));
  }

  /** The peer answered a ping (called by `ServerWebSocket`). */
  ponged(): void {
    this.#missedPongs = 0;
  }

  /** The socket is closed, whichever side began (called by `ServerWebSocket`). */
  socketClosed(code: number): void {
    if (this.#closeTimer) clearTimeout(this.#closeTimer);
    this.#metrics?.closed(this.#closedWith ?? code);
    this.state = 'closed';
    this.#writer?.discard();
    this.#listener?.closed(code);
    this.#finish();
  }

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
    if (this.#onSocketCloseDuringHandshake) this.#socket.off('close', this.#onSocketCloseDuringHandshake);
    this.#onSocketCloseDuringHandshake = null;
    // The request and what came with it are not needed once the handshake is over.
    this.#req = null;
    this.#head = null;
  }

  #finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#released(this);
    this.#gone?.resolve();
  }
}

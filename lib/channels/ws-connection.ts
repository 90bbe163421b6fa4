import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocket, WebSocketServer } from 'ws';
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


/** One socket, from the upgrade request until it is gone. */
export class WsConnection implements Connection {
  state: ConnectionState = 'handshake';
  readonly #wss: WebSocketServer;
  readonly #req: IncomingMessage;
  readonly #socket: Duplex;
  readonly #head: Buffer;
  readonly #limits: TransportLimits;
  readonly #metrics: TransportMetrics | null;
  readonly #released: () => void;
  #ws: WebSocket | null = null;
  /** Frames go straight to the socket, framed once per broadcast (see `SocketWriter`); ws reads. */
  #writer: SocketWriter | null = null;
  #listener: ConnectionListener | null = null;
  #missedPongs = 0;
  /** The code this side closed with, when it closed first (what the metrics count). */
  #closedWith: number | null = null;
  #handshakeTimer: NodeJS.Timeout | null;
  #closeTimer: NodeJS.Timeout | null = null;
  #lostDuringHandshake: ((error: Error) => void) | null = null;
  #finished = false;
  #closedPromise: Promise<void>;
  #markClosed!: () => void;

  constructor(parts: {
    wss: WebSocketServer;
    req: IncomingMessage;
    socket: Duplex;
    head: Buffer;
    limits: TransportLimits;
    metrics: TransportMetrics | null;
    /** Called once when the connection is gone, however it went. */
    released: () => void;
  }) {
    this.#wss = parts.wss;
    this.#req = parts.req;
    this.#socket = parts.socket;
    this.#head = parts.head;
    this.#limits = parts.limits;
    this.#metrics = parts.metrics;
    this.#released = parts.released;
    const { socket, limits } = parts;
    this.#closedPromise = new Promise((resolve) => {
      this.#markClosed = resolve;
    });
    this.#handshakeTimer = setTimeout(() => this.#abandon('handshake timed out'), limits.handshakeTimeoutMs);
    socket.once('close', this.#onSocketCloseDuringHandshake);
  }

  get bufferedAmount(): number {
    return this.#writer?.bufferedBytes ?? 0;
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
        this.#writer = new SocketWriter(this.#socket);
        this.#listener = listener;
        this.state = 'open';
        this.#metrics?.opened();
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
    await this.#closedPromise;
    await this.#listener?.whenIdle();
  }

  readonly #onMessage = (data: Buffer, isBinary: boolean): void => {
    this.#missedPongs = 0;
    this.#metrics?.received();
    if (this.state !== 'open') return;
    if (isBinary) this.#listener?.binary(data);
    else this.#listener?.text(data.toString('utf8'));
  };

  readonly #onPong = (): void => {
    this.#missedPongs = 0;
  };

  readonly #onClose = (code: number): void => {
    if (this.#closeTimer) clearTimeout(this.#closeTimer);
    this.#metrics?.closed(this.#closedWith ?? code);
    this.state = 'closed';
    this.#writer?.discard();
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

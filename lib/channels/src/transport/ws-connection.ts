import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, type WebSocketServer } from 'ws';
import { CloseCode } from '../close-codes';
import type { Connection, ConnectionListener, ConnectionState, OutgoingFrame } from '../connection';
import type { Flushable, FlushPacer } from '../flush-pacer';
import { encodeTextFrame } from '../frames';
import type { TransportMetrics } from '../metrics';
import type { ProxyTrust } from './proxy-trust';
import { drained } from './drained';
import { refuseUpgrade } from './refuse-upgrade';

/** A ping with no payload, as a server sends it (RFC 6455 §5.5.2): FIN, opcode 9, length 0. */
const PING_FRAME = Buffer.from([0x89, 0x00]);

/** The transport limits a connection enforces (see `SocketServerOptions`). */
export interface TransportLimits {
  readonly maxPayloadBytes: number;
  readonly handshakeTimeoutMs: number;
  readonly pingIntervalMs: number;
  readonly maxBufferedBytes: number;
  readonly closeTimeoutMs: number;
  readonly maxConnectionsPerAddress: number;
  readonly trustProxy: ProxyTrust;
}

/** What the server asks of each of its connections, whichever the transport. */
export interface ServerConnection {
  /** The client's address, as the per-address cap counts it. */
  readonly address: string;
  /** When an unfinished handshake is abandoned (`Date.now()` time). */
  readonly handshakeDeadline: number;
  /** One tick of the liveness check. */
  heartbeat(): void;
  /** Closes with `code` and resolves when the connection and its consumer are done. */
  shutdown(code: number): Promise<void>;
  /** Drops a connection whose handshake did not complete. */
  abandon(reason: string): void;
}

/** What every connection of one server shares: one object, referenced by each. */
export interface ConnectionServer {
  readonly wss: WebSocketServer;
  readonly limits: TransportLimits;
  readonly metrics: TransportMetrics | null;
  /** The process's write pacer: every connection's writes go out in its flushes. */
  readonly pacer: FlushPacer;
  /**
   * A connection's handshake is over, however it ended (accepted, refused, abandoned); `key` is
   * what the server tracks the handshake by (the socket of an upgrade).
   */
  handshakeOver(connection: ServerConnection, key?: Duplex): void;
  /**
   * ws is about to take `socket` over (synchronously): the handshake's watch on 'end' goes
   * first, so that ws's listeners join lists of one rather than grow arrays every idle
   * connection would keep.
   */
  upgrading(socket: Duplex): void;
  /** ws has taken `socket` over, with its own 'error' listener: the server's goes. */
  upgraded(socket: Duplex): void;
  /** Called once when a connection is gone, however it went. */
  released(connection: ServerConnection): void;
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

/** What a connection needs only until its handshake is over. */
interface Handshake {
  readonly req: IncomingMessage;
  readonly head: Buffer;
  /** When the handshake is abandoned unless it is over by then (`Date.now()` time). */
  readonly deadline: number;
  /** Rejects `accept` when the socket is lost before the handshake completes. */
  lost: ((error: Error) => void) | null;
}

/**
 * One socket, from the upgrade request until it is gone. It holds thousands of idle peers on a
 * busy server, so it keeps little: what only the handshake needs goes once it is over, what all
 * connections share is one object, and ws is given handlers shared by every connection.
 *
 * Frames are written straight to the socket, framed once per broadcast (see `encodeTextFrame`),
 * and queued until the process's next paced flush (see `FlushPacer`), then written as one chunk:
 * a broadcast costs an array push per member, and a member sent several messages in a moment
 * (a busy room) gets them in one write; on loopback and in virtual machines the system call and
 * the wake-up it causes on the other side cost far more than the bytes. ws only reads.
 */
export class WsConnection implements Connection, ServerConnection, Flushable {
  state: ConnectionState = 'handshake';
  readonly transport = 'websocket';
  /** The client's address, as the transport counts connections per address. */
  readonly address: string;
  readonly #server: ConnectionServer;
  readonly #socket: Duplex;
  #handshake: Handshake | null;
  #ws: ServerWebSocket | null = null;
  #listener: ConnectionListener | null = null;
  /** Frames waiting for the flush: none, one, or several (an array is made only for several). */
  #queued: Buffer | Buffer[] | null = null;
  #queuedBytes = 0;
  /** What the socket held unwritten after the last flush (until the next, it only shrinks, but for ws's small control frames). */
  #unwrittenAtFlush = 0;
  /** The socket was corked before the handshake response went into it (see `accept`). */
  #corked = false;
  #missedPongs = 0;
  /** The code this side closed with, when it closed first (what the metrics count). */
  #closedWith: number | null = null;
  #closeTimer: NodeJS.Timeout | null = null;
  #finished = false;
  /** Made only when someone waits for the end (shutdown). */
  #gone: { readonly promise: Promise<void>; readonly resolve: () => void } | null = null;

  constructor(server: ConnectionServer, req: IncomingMessage, socket: Duplex, head: Buffer, address: string) {
    this.#server = server;
    this.#socket = socket;
    this.address = address;
    this.#handshake = { req, head, deadline: Date.now() + server.limits.handshakeTimeoutMs, lost: null };
  }

  /** The time after which an unfinished handshake is abandoned (the server sweeps for these). */
  get handshakeDeadline(): number {
    return this.#handshake?.deadline ?? Number.POSITIVE_INFINITY;
  }

  get bufferedAmount(): number {
    return this.#queuedBytes + this.#socket.writableLength;
  }

  accept(listener: ConnectionListener): Promise<void> {
    const handshake = this.#handshake;
    if (this.state !== 'handshake' || handshake === null) return Promise.reject(new Error(`cannot accept a connection that is ${this.state}`));
    return new Promise((resolve, reject) => {
      handshake.lost = reject;
      // ws writes its 101 response at once; corked, it waits for the consumer's first frames
      // (welcome, history...) and all go out in one write at the next flush. A refused
      // handshake ends the socket, which uncorks it.
      this.#socket.cork();
      this.#server.upgrading(this.#socket);
      this.#server.wss.handleUpgrade(handshake.req, this.#socket, handshake.head, (socket) => {
        const ws = socket as ServerWebSocket;
        handshake.lost = null;
        this.#endHandshake();
        if (this.state !== 'handshake') {
          ws.terminate();
          reject(new Error('the connection was closed during the handshake'));
          return;
        }
        this.#server.upgraded(this.#socket);
        this.#ws = ws;
        this.#corked = true;
        if (this.#queued === null) this.#server.pacer.flushSoon(this);
        this.#listener = listener;
        this.state = 'open';
        this.#server.metrics?.opened();
        ws.connection = this;
        resolve();
      });
    });
  }

  reject(status: number, reason: string): void {
    if (this.state !== 'handshake') return;
    this.#server.metrics?.refused(status);
    this.#endHandshake();
    this.state = 'closed';
    refuseUpgrade(this.#socket, status, reason);
    this.#finish();
  }

  send(frame: OutgoingFrame): void {
    if (this.state !== 'open') return;
    this.#queue(encodeTextFrame(frame));
    this.#server.metrics?.sent();
    // The socket is read only when the bytes might be over the limit: a broadcast touches each
    // member's connection, and its socket's state would be a few more reads per member.
    const limit = this.#server.limits.maxBufferedBytes;
    if (this.#queuedBytes + this.#unwrittenAtFlush > limit && this.bufferedAmount > limit) {
      // The peer stopped reading. Everyone else keeps going; this one may reconnect and resume.
      this.close(CloseCode.TryAgainLater, 'not reading fast enough');
    }
  }

  /**
   * Queues whole frames for the flush. Nothing else writes frames on this socket but ws's own
   * control frames (pong, close), which are whole frames too, so frames never interleave.
   */
  #queue(bytes: Buffer): void {
    const queued = this.#queued;
    if (queued === null) {
      this.#queued = bytes;
      // A corked socket is already waiting for the flush.
      if (!this.#corked) this.#server.pacer.flushSoon(this);
    } else if (Array.isArray(queued)) {
      queued.push(bytes);
    } else {
      this.#queued = [queued, bytes];
    }
    this.#queuedBytes += bytes.length;
  }

  /**
   * Writes what is queued now (at the flush, and before a close frame, which must come after it);
   * answers how many frames went (the handshake's response counting as one).
   */
  flush(): number {
    const queued = this.#queued;
    const corked = this.#corked;
    if (queued === null && !corked) return 0;
    const bytes = this.#queuedBytes;
    this.#queued = null;
    this.#queuedBytes = 0;
    this.#corked = false;
    const socket = this.#socket;
    if (socket.destroyed || !socket.writable) return 0;
    let frames = 0;
    if (queued !== null) {
      const several = Array.isArray(queued);
      socket.write(several ? Buffer.concat(queued, bytes) : queued);
      frames = several ? queued.length : 1;
    }
    if (corked) socket.uncork();
    this.#unwrittenAtFlush = socket.writableLength;
    return Math.max(frames, 1);
  }

  whenSent(): Promise<void> {
    if (this.state !== 'open') return Promise.resolve();
    // Written now rather than at the paced flush: whoever waits sends a lot, a write's worth.
    this.flush();
    return drained(this.#socket);
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
    if (code === CloseCode.TryAgainLater) this.#discard();
    else this.flush();
    this.#ws.close(code, reason);
    this.#closeTimer = setTimeout(() => this.#ws?.terminate(), this.#server.limits.closeTimeoutMs);
  }

  /**
   * One tick of the liveness check: two unanswered pings in a row end the connection. The ping
   * is one shared frame, queued with the rest: a ping costs a connection no allocation.
   */
  heartbeat(): void {
    const ws = this.#ws;
    if (this.state !== 'open' || ws === null) return;
    if (this.#missedPongs >= 2) {
      this.#closedWith = CloseCode.Abnormal;
      ws.terminate();
      return;
    }
    this.#missedPongs++;
    this.#queue(PING_FRAME);
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
    this.#server.metrics?.received();
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
    this.#server.metrics?.closed(this.#closedWith ?? code);
    this.state = 'closed';
    this.#discard();
    this.#listener?.closed(code);
    this.#finish();
  }

  /** The handshake did not complete: timed out, or the client went away (called by the server). */
  abandon(reason: string): void {
    if (this.state !== 'handshake') return;
    const lost = this.#handshake?.lost;
    this.#endHandshake();
    this.state = 'closed';
    this.#socket.destroy();
    lost?.(new Error(reason));
    this.#finish();
  }

  #endHandshake(): void {
    if (this.#handshake === null) return;
    // The request and what came with it are not needed once the handshake is over.
    this.#handshake = null;
    this.#server.handshakeOver(this, this.#socket);
  }

  /** Forgets what is queued (the socket is gone, or too far behind to be worth the bytes). */
  #discard(): void {
    this.#queued = null;
    this.#queuedBytes = 0;
  }

  #finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#server.released(this);
    this.#gone?.resolve();
  }
}

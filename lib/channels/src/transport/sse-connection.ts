import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { CloseCode } from '../close-codes';
import type { Connection, ConnectionListener, ConnectionState, OutgoingFrame } from '../connection';
import type { Flushable } from '../flush-pacer';
import { encodeSseFrame } from '../frames';
import type { LayerMessage } from '../layers/types';
import { TokenBucket } from '../rate-limit';
import { drained } from './drained';
import type { ConnectionServer, ServerConnection } from './ws-connection';

/** A heartbeat event: the client answers it with an empty batch. */
const PING_EVENT = Buffer.from('event: ping\ndata:\n\n');

/** POSTs a connection may make, beats included: a client batches, so this is far above its need. */
const POST_BUDGET = { rate: 100, perMs: 10_000, burst: 100 } as const;

/** The SHA-256 of a connection's token: all the server keeps, and all that crosses the layer. */
export function tokenHash(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

/**
 * One batch of frames a client POSTed, checked and parsed by the process that took the POST
 * (which may not be the one holding the stream).
 */
export interface PostedBatch {
  /** The number of the batch's first frame; frames are numbered from 1 per connection. */
  readonly seq: number;
  /** The frames that passed the checks, in order. */
  readonly frames: readonly string[];
  /** The close code the frame after `frames` earned (1003, 1007, 1009), if one did. */
  readonly violation: number | null;
  /** The client is closing the connection with this code. */
  readonly close: number | null;
  /** The SHA-256 of the token the POST carried. */
  readonly tokenHash: Buffer;
  /** The POST's `Origin` header, if any. */
  readonly origin: string | null;
}

/** What the owner of a stream answers a batch with: the HTTP status, and the next frame it expects. */
export interface BatchOutcome {
  readonly status: 204 | 403 | 404 | 409 | 429;
  readonly next: number;
}

/**
 * One connection of the HTTP fallback: a server-sent-events stream carries frames to the client,
 * and POSTs (see `FallbackEndpoint`) carry its batches back, possibly through another process.
 * It keeps the same rules as `WsConnection`: frames queued and written at the paced flush, one
 * encoding per broadcast, 1013 for a peer that stops reading, two missed beats end it.
 */
export class SseConnection implements Connection, ServerConnection, Flushable {
  state: ConnectionState = 'handshake';
  readonly transport = 'fallback';
  /** The client's address, as the transport counts connections per address. */
  readonly address: string;
  /** The connection's id: its layer channel when there is a layer, so any process can reach it. */
  readonly id: string;
  readonly #server: ConnectionServer;
  readonly #res: ServerResponse;
  /** The `Origin` the stream was opened with; a POST must carry the same. */
  readonly #origin: string | null;
  /** Given to the client once, in the open event; kept only as its hash. */
  #token: string | null = randomBytes(32).toString('base64url');
  readonly #tokenHash: Buffer;
  readonly #posts = new TokenBucket(POST_BUDGET);
  readonly #deadline: number;
  #listener: ConnectionListener | null = null;
  #queued: Buffer[] = [];
  #queuedBytes = 0;
  #nextSeq = 1;
  #missedBeats = 0;
  #closedWith: number | null = null;
  #closeTimer: NodeJS.Timeout | null = null;
  #finished = false;
  #gone: { readonly promise: Promise<void>; readonly resolve: () => void } | null = null;
  readonly #onResponseClosed = (): void => this.#responseClosed();

  constructor(server: ConnectionServer, res: ServerResponse, address: string, id: string, origin: string | null) {
    this.#server = server;
    this.#res = res;
    this.address = address;
    this.id = id;
    this.#origin = origin;
    this.#tokenHash = tokenHash(this.#token!);
    this.#deadline = Date.now() + server.limits.handshakeTimeoutMs;
    res.on('close', this.#onResponseClosed);
  }

  /** The time after which an unfinished handshake is abandoned (the server sweeps for these). */
  get handshakeDeadline(): number {
    return this.state === 'handshake' ? this.#deadline : Number.POSITIVE_INFINITY;
  }

  get bufferedAmount(): number {
    return this.#queuedBytes + this.#res.writableLength;
  }

  accept(listener: ConnectionListener): Promise<void> {
    if (this.state !== 'handshake') return Promise.reject(new Error(`cannot accept a connection that is ${this.state}`));
    const res = this.#res;
    if (res.destroyed || res.writableEnded) {
      this.abandon('the client went away during the handshake');
      return Promise.reject(new Error('the client went away during the handshake'));
    }
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store, no-transform',
      // nginx streams this response even where buffering is on.
      'X-Accel-Buffering': 'no',
    });
    const open = {
      connection: this.id,
      token: this.#token,
      ping_ms: this.#server.limits.pingIntervalMs,
      max_frame_bytes: this.#server.limits.maxPayloadBytes,
    };
    this.#token = null;
    this.#listener = listener;
    this.state = 'open';
    this.#server.handshakeOver(this);
    // The open event waits for the consumer's first frames (welcome, history): one write for all.
    this.#queue(Buffer.from(`retry: 3000\nevent: open\ndata: ${JSON.stringify(open)}\n\n`));
    this.#server.metrics?.opened();
    this.#server.metrics?.fallbackOpen?.(1);
    return Promise.resolve();
  }

  reject(status: number, reason: string): void {
    if (this.state !== 'handshake') return;
    this.#server.metrics?.refused(status);
    this.state = 'closed';
    this.#server.handshakeOver(this);
    const res = this.#res;
    if (!res.headersSent && !res.destroyed) {
      const body = `${reason}\n`;
      res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body), Connection: 'close' });
      res.end(body);
    }
    this.#finish();
  }

  send(frame: OutgoingFrame): void {
    if (this.state !== 'open') return;
    this.#queue(encodeSseFrame(frame));
    this.#server.metrics?.sent();
    const limit = this.#server.limits.maxBufferedBytes;
    if (this.#queuedBytes > limit || this.bufferedAmount > limit) {
      this.close(CloseCode.TryAgainLater, 'not reading fast enough');
    }
  }

  #queue(bytes: Buffer): void {
    if (this.#queued.length === 0) this.#server.pacer.flushSoon(this);
    this.#queued.push(bytes);
    this.#queuedBytes += bytes.length;
  }

  /** Writes what is queued as one chunk of the response; answers how many events went. */
  flush(): number {
    const queued = this.#queued;
    if (queued.length === 0) return 0;
    const bytes = this.#queuedBytes;
    this.#queued = [];
    this.#queuedBytes = 0;
    const res = this.#res;
    if (res.destroyed || res.writableEnded) return 0;
    res.write(queued.length === 1 ? queued[0]! : Buffer.concat(queued, bytes));
    return queued.length;
  }

  whenSent(): Promise<void> {
    if (this.state !== 'open') return Promise.resolve();
    this.flush();
    return drained(this.#res);
  }

  close(code: number, reason?: string): void {
    if (this.state === 'handshake') {
      this.reject(403, reason ?? 'connection refused');
      return;
    }
    if (this.state !== 'open') return;
    if (code === CloseCode.TryAgainLater) this.#discard();
    this.#queue(Buffer.from(`event: close\ndata: ${JSON.stringify({ code, reason: reason ?? '' })}\n\n`));
    this.flush();
    this.#endStream(code);
  }

  /**
   * Ends the response, whichever side closed: the consumer hears `code` once it has gone. A
   * client that reads nothing more keeps the response from finishing: it is dropped after the
   * close timeout.
   */
  #endStream(code: number): void {
    this.state = 'closing';
    this.#closedWith = code;
    this.#res.end();
    this.#closeTimer = setTimeout(() => this.#res.destroy(), this.#server.limits.closeTimeoutMs);
  }

  /** One tick of the liveness check: a client answers each ping with a POST; two unanswered end it. */
  heartbeat(): void {
    if (this.state !== 'open') return;
    if (this.#missedBeats >= 2) {
      this.#closedWith = CloseCode.Abnormal;
      this.#res.destroy();
      return;
    }
    this.#missedBeats++;
    this.#queue(PING_EVENT);
  }

  /** Closes with `code`; resolves once the stream is gone and its consumer has finished its work. */
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

  /** The handshake did not complete: timed out, or the client went away (called by the server). */
  abandon(_reason: string): void {
    if (this.state !== 'handshake') return;
    this.state = 'closed';
    this.#server.handshakeOver(this);
    this.#res.destroy();
    this.#finish();
  }

  /** Whether a POST with this token's hash and Origin may send on this connection. */
  owns(hash: Buffer, origin: string | null): boolean {
    if (hash.length !== this.#tokenHash.length || !timingSafeEqual(hash, this.#tokenHash)) return false;
    return this.#origin === null || origin === this.#origin;
  }

  /**
   * A batch the client POSTed, here or through the layer: checked against the token and the
   * stream's Origin, then its new frames handed to the consumer in order. A batch sent again
   * (its answer was lost) is acknowledged without being delivered twice.
   */
  deliver(batch: PostedBatch): BatchOutcome {
    if (this.state !== 'open') return { status: 404, next: this.#nextSeq };
    if (!this.owns(batch.tokenHash, batch.origin)) return { status: 403, next: 0 };
    if (!this.#posts.take()) return { status: 429, next: this.#nextSeq };
    this.#missedBeats = 0;
    if (batch.seq > this.#nextSeq) return { status: 409, next: this.#nextSeq };
    const listener = this.#listener!;
    for (let index = this.#nextSeq - batch.seq; index < batch.frames.length; index++) {
      this.#nextSeq++;
      this.#server.metrics?.received();
      listener.text(batch.frames[index]!);
      if (this.state !== 'open') return { status: 204, next: this.#nextSeq };
    }
    if (batch.seq + batch.frames.length < this.#nextSeq) return { status: 204, next: this.#nextSeq };
    if (batch.violation !== null) {
      this.close(batch.violation, violationReason(batch.violation));
    } else if (batch.close !== null) {
      this.#discard();
      this.#endStream(batch.close);
    }
    return { status: 204, next: this.#nextSeq };
  }

  /** The layer's receiver for relayed batches: answers each on its reply channel. */
  relayReceiver(answer: (to: string, message: LayerMessage) => void): { readonly backlog: number; deliver(message: LayerMessage): void } {
    return {
      backlog: 0,
      deliver: (message) => {
        const relayed = relayedBatch(message);
        if (relayed === null) return;
        const outcome = this.deliver(relayed.batch);
        answer(relayed.reply, { type: 'channels.fallback_ack', ref: relayed.ref, status: outcome.status, next: outcome.next });
      },
    };
  }

  #responseClosed(): void {
    if (this.state === 'handshake') {
      this.abandon('the client went away during the handshake');
      return;
    }
    if (this.state === 'closed') return;
    if (this.#closeTimer) clearTimeout(this.#closeTimer);
    const code = this.#closedWith ?? CloseCode.Abnormal;
    this.#server.metrics?.closed(code);
    this.#server.metrics?.fallbackOpen?.(-1);
    this.state = 'closed';
    this.#discard();
    this.#listener?.closed(code);
    this.#finish();
  }

  #discard(): void {
    this.#queued = [];
    this.#queuedBytes = 0;
  }

  #finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#res.off('close', this.#onResponseClosed);
    this.#server.released(this);
    this.#gone?.resolve();
  }
}

function violationReason(code: number): string {
  if (code === CloseCode.MessageTooBig) return 'frame too large';
  if (code === CloseCode.InvalidPayload) return 'invalid UTF-8';
  return 'binary frames are not accepted';
}

/** A batch relayed through the layer: `channels.fallback_post`, as `FallbackEndpoint` sends it. */
export function relayedBatch(message: LayerMessage): { readonly batch: PostedBatch; readonly reply: string; readonly ref: number } | null {
  const { seq, frames, violation, close, token_hash: hash, origin, reply, ref } = message;
  if (message.type !== 'channels.fallback_post') return null;
  if (typeof reply !== 'string' || typeof ref !== 'number' || typeof seq !== 'number' || typeof hash !== 'string') return null;
  if (!Array.isArray(frames) || !frames.every((frame) => typeof frame === 'string')) return null;
  return {
    reply,
    ref,
    batch: {
      seq,
      frames: frames as string[],
      violation: typeof violation === 'number' ? violation : null,
      close: typeof close === 'number' ? close : null,
      tokenHash: Buffer.from(hash, 'base64'),
      origin: typeof origin === 'string' ? origin : null,
    },
  };
}

import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CloseCode } from '../close-codes';
import type { ChannelLayer, LayerMessage } from '../layers/types';
import type { TransportMetrics } from '../metrics';
import { KeyedBuckets } from '../rate-limit';
import { type BatchOutcome, type PostedBatch, type SseConnection, tokenHash } from './sse-connection';

/** What {@link FallbackPosts} needs from its server. */
export interface FallbackPostsOptions {
  readonly layer: ChannelLayer | null;
  /** Largest POST body accepted; a bigger one gets 413 and is not read (bytes). */
  readonly maxPostBytes: number;
  /** Largest frame; a bigger one closes the connection with 1009 (bytes, UTF-8). */
  readonly maxPayloadBytes: number;
  /** How long a POST relayed to another process waits for that process's answer. */
  readonly relayAckTimeoutMs: number;
  /** The client address a request counts against. */
  readonly clientAddress: (req: IncomingMessage) => string;
  /** Counts the POSTs by where they went. */
  readonly metrics: TransportMetrics | null;
}

/**
 * A fallback connection's id: its layer channel, `fallback-<16 random>.<process>!<n>`. Nothing
 * else is ever relayed to, so a POST cannot reach a consumer's own channel, and the random part
 * keeps one id from telling the next.
 */
const CONNECTION_ID = /^fallback-[A-Za-z0-9_-]{16}\.[A-Za-z0-9]{1,32}![0-9a-z]{1,16}$/;
/** POST bodies one address may be sending at once; more are refused before they are read. */
const UNFINISHED_BODIES_PER_ADDRESS = 32;
/** A POST body must be in within this long. */
const BODY_TIMEOUT_MS = 10_000;
const TOKEN = /^[A-Za-z0-9_-]{43}$/;
/** Frames in one batch at most: a client batches up to 64 KiB, so this is not a limit it meets. */
const MAX_FRAMES_PER_BATCH = 1_000;
/** POSTs one address may make, beats included, whichever process holds its streams. */
const POSTS_PER_ADDRESS = { rate: 1_000, perMs: 10_000, burst: 500 } as const;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

interface PendingRelay {
  readonly resolve: (outcome: BatchOutcome | null) => void;
  readonly timer: NodeJS.Timeout;
}

/**
 * The client-to-server half of the HTTP fallback: `POST <path>?_channels=send` with a batch of
 * frames, the connection's id and its token. A batch for a stream this process holds is handed
 * to it; one for a stream elsewhere goes through the channel layer to that connection's channel,
 * and its answer comes back on this process's reply channel, so no load balancer needs sticky
 * sessions. One POST is in flight per connection, so batches arrive in the order sent.
 */
export class FallbackPosts {
  readonly #options: FallbackPostsOptions;
  readonly #local = new Map<string, SseConnection>();
  readonly #pending = new Map<number, PendingRelay>();
  readonly #perAddress = new KeyedBuckets(POSTS_PER_ADDRESS);
  /** POST bodies being received, by client address. */
  readonly #unfinished = new Map<string, number>();
  readonly #replyChannel: string | null;
  /** The process part of this process's channel names: a connection id with another is elsewhere. */
  readonly #processTag: string | null;
  #nextRef = 1;

  constructor(options: FallbackPostsOptions) {
    this.#options = options;
    const layer = options.layer;
    this.#replyChannel = layer ? layer.newChannel('fallback-reply') : null;
    this.#processTag = this.#replyChannel ? processTag(this.#replyChannel) : null;
    if (layer && this.#replyChannel) {
      layer.attach(this.#replyChannel, {
        backlog: 0,
        deliver: (message) => this.#acknowledged(message),
      });
    }
  }

  /** A new connection id: its layer channel, so that other processes can relay to it. */
  newConnectionId(): string {
    const prefix = `fallback-${randomBytes(12).toString('base64url')}`;
    return this.#options.layer ? this.#options.layer.newChannel(prefix) : `${prefix}.local!${(this.#nextRef++).toString(36)}`;
  }

  /** Starts taking batches for `connection`, here and through the layer. */
  register(connection: SseConnection): void {
    this.#local.set(connection.id, connection);
    const layer = this.#options.layer;
    if (!layer) return;
    layer.attach(
      connection.id,
      connection.relayReceiver((to, message) => {
        layer.send(to, message).catch(() => {
          // The relaying process times out and the client sends the batch again.
        });
      }),
    );
  }

  /** The connection is gone. */
  forget(connection: SseConnection): void {
    if (this.#local.get(connection.id) !== connection) return;
    this.#local.delete(connection.id);
    this.#options.layer?.detach(connection.id);
  }

  /** Answers one `_channels=send` POST. */
  handle(req: IncomingMessage, res: ServerResponse): void {
    if (req.method !== 'POST') return answer(res, 405, 'POST a batch here');
    const id = req.headers['x-channels-connection'];
    const token = req.headers['x-channels-token'];
    if (typeof id !== 'string' || typeof token !== 'string') return answer(res, 400, 'X-Channels-Connection and X-Channels-Token are required');
    if (!CONNECTION_ID.test(id) || !TOKEN.test(token)) return answer(res, 403, 'not your connection');
    if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) return answer(res, 415, 'send application/json');
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > this.#options.maxPostBytes) return tooLarge(req, res);
    const hash = tokenHash(token);
    const origin = originOf(req);
    // What can be refused without the body is, before a byte of it is read.
    const local = this.#local.get(id);
    if (local ? !local.owns(hash, origin) : processTag(id) === this.#processTag) {
      return answer(res, local ? 403 : 404, local ? 'not your connection' : 'no such connection', { Connection: 'close' });
    }
    const address = this.#options.clientAddress(req);
    if (!this.#perAddress.take(address)) return answer(res, 429, 'too many requests from your address', { Connection: 'close' });
    const receiving = this.#unfinished.get(address) ?? 0;
    if (receiving >= UNFINISHED_BODIES_PER_ADDRESS) return answer(res, 429, 'too many requests in progress from your address', { Connection: 'close' });
    this.#unfinished.set(address, receiving + 1);
    let counted = true;
    const received = (): void => {
      if (!counted) return;
      counted = false;
      const left = (this.#unfinished.get(address) ?? 1) - 1;
      if (left > 0) this.#unfinished.set(address, left);
      else this.#unfinished.delete(address);
    };
    req.once('close', received);
    req.setTimeout(BODY_TIMEOUT_MS, () => {
      received();
      answer(res, 408, 'the batch took too long to arrive', { Connection: 'close' });
      res.once('finish', () => req.socket.destroy());
    });

    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > this.#options.maxPostBytes) {
        req.off('data', onData);
        req.off('end', onEnd);
        received();
        tooLarge(req, res);
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      received();
      req.setTimeout(0);
      const parsed = this.#parse(Buffer.concat(chunks, size), hash, origin);
      if (typeof parsed === 'string') return answer(res, 400, parsed);
      const relayed = !this.#local.has(id);
      this.#deliver(id, parsed).then(
        (outcome) => {
          this.#options.metrics?.fallbackPost?.(outcome === null || outcome.status !== 204 ? 'refused' : relayed ? 'relayed' : 'local');
          respond(res, outcome);
        },
        () => {
          this.#options.metrics?.fallbackPost?.('refused');
          answer(res, 503, 'try again');
        },
      );
    };
    req.on('data', onData);
    req.on('end', onEnd);
  }

  /** Stops relaying: batches waiting for another process's answer get 503. */
  close(): void {
    for (const pending of this.#pending.values()) {
      clearTimeout(pending.timer);
      pending.resolve(null);
    }
    this.#pending.clear();
    if (this.#replyChannel) this.#options.layer?.detach(this.#replyChannel);
  }

  #parse(body: Buffer, hash: Buffer, origin: string | null): PostedBatch | string {
    let value: unknown;
    try {
      value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
    } catch {
      return 'the body is not JSON in UTF-8';
    }
    if (typeof value !== 'object' || value === null) return 'the body is not a batch';
    const { seq, frames, close } = value as { seq?: unknown; frames?: unknown; close?: unknown };
    if (!Number.isSafeInteger(seq) || (seq as number) < 1) return '"seq" must be a positive integer';
    if (!Array.isArray(frames) || frames.length > MAX_FRAMES_PER_BATCH) return `"frames" must be an array of at most ${MAX_FRAMES_PER_BATCH}`;
    if (close !== undefined && !(Number.isInteger(close) && (close === 1000 || ((close as number) >= 3000 && (close as number) <= 4999)))) {
      return '"close" must be 1000 or 3000-4999';
    }
    const accepted: string[] = [];
    let violation: number | null = null;
    for (const frame of frames as unknown[]) {
      if (typeof frame !== 'string') violation = CloseCode.UnsupportedData;
      else if (Buffer.byteLength(frame, 'utf8') > this.#options.maxPayloadBytes) violation = CloseCode.MessageTooBig;
      else if (LONE_SURROGATE.test(frame)) violation = CloseCode.InvalidPayload;
      if (violation !== null) break;
      accepted.push(frame as string);
    }
    return { seq: seq as number, frames: accepted, violation, close: (close as number | undefined) ?? null, tokenHash: hash, origin };
  }

  async #deliver(id: string, batch: PostedBatch): Promise<BatchOutcome | null> {
    const local = this.#local.get(id);
    if (local) return local.deliver(batch);
    const layer = this.#options.layer;
    if (!layer || !this.#replyChannel || processTag(id) === this.#processTag) return { status: 404, next: 0 };
    const ref = this.#nextRef++;
    const outcome = new Promise<BatchOutcome | null>((resolve) => {
      const timer = setTimeout(() => {
        this.#pending.delete(ref);
        resolve(null);
      }, this.#options.relayAckTimeoutMs);
      this.#pending.set(ref, { resolve, timer });
    });
    try {
      await layer.send(id, {
        type: 'channels.fallback_post',
        ref,
        reply: this.#replyChannel,
        seq: batch.seq,
        frames: batch.frames,
        violation: batch.violation ?? undefined,
        close: batch.close ?? undefined,
        token_hash: batch.tokenHash.toString('base64'),
        origin: batch.origin ?? undefined,
      });
    } catch (error) {
      const pending = this.#pending.get(ref);
      if (pending) {
        clearTimeout(pending.timer);
        this.#pending.delete(ref);
      }
      throw error;
    }
    return outcome;
  }

  #acknowledged(message: LayerMessage): void {
    if (message.type !== 'channels.fallback_ack' || typeof message.ref !== 'number') return;
    const pending = this.#pending.get(message.ref);
    if (!pending) return;
    this.#pending.delete(message.ref);
    clearTimeout(pending.timer);
    const status = message.status;
    const next = message.next;
    if ((status === 204 || status === 403 || status === 404 || status === 409 || status === 429) && typeof next === 'number') {
      pending.resolve({ status, next });
    } else {
      pending.resolve(null);
    }
  }
}

/** `<prefix>.<process>!<n>` → `<process>`: which process made a channel name. */
function processTag(channel: string): string | null {
  const bang = channel.indexOf('!');
  if (bang === -1) return null;
  return channel.slice(channel.lastIndexOf('.', bang) + 1, bang);
}

function originOf(req: IncomingMessage): string | null {
  const origin = req.headers.origin;
  return typeof origin === 'string' ? origin : null;
}

function respond(res: ServerResponse, outcome: BatchOutcome | null): void {
  if (outcome === null) return answer(res, 504, 'the connection did not answer; send the batch again');
  switch (outcome.status) {
    case 204:
      res.writeHead(204, { 'X-Channels-Next': String(outcome.next), 'Cache-Control': 'no-store' }).end();
      return;
    case 409: {
      const body = JSON.stringify({ expected: outcome.next });
      res.writeHead(409, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store' }).end(body);
      return;
    }
    case 403:
      return answer(res, 403, 'not your connection');
    case 404:
      return answer(res, 404, 'no such connection');
    case 429:
      return answer(res, 429, 'too many requests on this connection');
  }
}

/** Answers with a status and a one-line reason. */
export function answer(res: ServerResponse, status: number, reason: string, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  const body = `${reason}\n`;
  res
    .writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': String(Buffer.byteLength(body)), 'Cache-Control': 'no-store', ...headers })
    .end(body);
}

/** 413 without reading the rest: the connection closes after the answer. */
function tooLarge(req: IncomingMessage, res: ServerResponse): void {
  req.pause();
  answer(res, 413, 'the batch is too large', { Connection: 'close' });
  res.once('finish', () => req.socket.destroy());
}

/**
 * A client of the HTTP fallback (docs/protocol.md, "HTTP fallback transport") cut down to what
 * the load generator needs, over plain TCP sockets, with HTTP/1.1 written and read by hand: the
 * stream's body is de-chunked and split into events in place, and each frame's bytes go to the
 * same callback as `RawSocket`'s, so the generator reads both transports alike. Frames go up as
 * POSTed batches, one on the wire at a time, those sent meanwhile as the next batch.
 *
 * Each client POSTs on a keep-alive socket of its own, opened when first needed, as a browser
 * does: one POST in flight per connection then never waits behind another client's, which a
 * shared pool would add to the latency measured. The HTTP guard allows 50 idle sockets per
 * address, so clients that send should each have their own `localAddress` (any 127.x.y.z).
 */
import { connect, type Socket } from 'node:net';
import type { RawSocketOptions } from './raw-socket';

export interface RawSseOptions extends RawSocketOptions {
  /** The address both sockets connect from (the server's budgets are per client address). */
  readonly localAddress?: string;
  /** Called with the status of a POST the server refused (the client then closes). */
  readonly onRefused?: (status: number) => void;
}

const HEADER_END = Buffer.from('\r\n\r\n');
const EVENT_END = Buffer.from('\n\n');
const DATA_PREFIX = Buffer.from('data: ');
const LINE_FEED = 0x0a;
const READ_BUFFER = Buffer.alloc(256 * 1024);
/** A batch carries frames up to about this many bytes, as the app's client batches. */
const MAX_BATCH_BYTES = 64 * 1024;
const MAX_BATCH_FRAMES = 1_000;
/** A keep-alive socket idle this long is not reused: the server closes it at 5 s, maybe as we write. */
const POST_SOCKET_IDLE_MS = 4_000;
const RETRY_MS = 100;

/** Where the de-chunker is in the stream's body: a size line (its digits, then whatever follows them), data, the CRLF after it. */
const SIZE = 0;
const SIZE_EXTENSION = 1;
const DATA = 2;
const DATA_END = 3;
const ENDED = 4;
type BodyState = typeof SIZE | typeof SIZE_EXTENSION | typeof DATA | typeof DATA_END | typeof ENDED;

interface Session {
  readonly connection: string;
  readonly token: string;
}

export class RawSse {
  readonly #options: RawSseOptions;
  readonly #stream: Socket;
  #handshake: { resolve: () => void; fail: (error: Error) => void } | null = null;
  /** The response head until it is complete; then null. */
  #head: Buffer | null = Buffer.alloc(0);
  #chunked = true;
  #body: BodyState = SIZE;
  #chunkLeft = 0;
  /** An incomplete event, copied out of the shared read buffer. */
  #partial: Buffer | null = null;
  #session: Session | null = null;
  #closed = false;

  /** Frames not yet acknowledged, each already a JSON string; the first is frame `#firstSeq`. */
  #unacknowledged: string[] = [];
  #firstSeq = 1;
  /** How many of `#unacknowledged` the POST on the wire carries; null when none is. */
  #inFlight: number | null = null;
  #post: Socket | null = null;
  #postIdleSince = 0;
  #response: Buffer = Buffer.alloc(0);
  #postedSincePing = false;

  private constructor(options: RawSseOptions, stream: Socket) {
    this.#options = options;
    this.#stream = stream;
  }

  /** Opens the stream; resolves at its `open` event, rejects with the status line when refused. */
  static open(options: RawSseOptions): Promise<RawSse> {
    return new Promise((resolve, reject) => {
      let client: RawSse | null = null;
      const stream = connect({
        host: options.host,
        port: options.port,
        ...(options.localAddress ? { localAddress: options.localAddress } : {}),
        noDelay: true,
        // As in RawSocket: reads land in one shared buffer, handed over without a 'data' event.
        onread: {
          buffer: READ_BUFFER,
          callback: (size: number, buffer: Uint8Array): boolean => {
            if (client) client.#received(Buffer.from(buffer.buffer, buffer.byteOffset, size));
            return true;
          },
        },
      });
      client = new RawSse(options, stream);
      const opened = client;
      const fail = (error: Error): void => {
        opened.#handshake = null;
        opened.#closed = true;
        stream.destroy();
        reject(error);
      };
      opened.#handshake = { resolve: () => resolve(opened), fail };
      stream.on('error', (error) => opened.#handshake?.fail(error));
      stream.once('connect', () => {
        stream.write(
          `POST ${withQuery(options.path, '_channels=sse')} HTTP/1.1\r\nHost: ${options.host}:${options.port}\r\n` +
            `Content-Type: application/json\r\nAccept: text/event-stream\r\nOrigin: ${options.origin}\r\nContent-Length: 2\r\n\r\n{}`,
        );
      });
      stream.once('close', () => {
        opened.#handshake?.fail(new Error('the stream closed before its open event'));
        opened.#end();
      });
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Sends one text frame: at once when no POST is on the wire, else with the next batch. */
  sendText(text: string): void {
    if (this.#closed) return;
    this.#unacknowledged.push(JSON.stringify(text));
    if (this.#inFlight === null) this.#send();
  }

  /** Tells the server the client is leaving (1000) when it can do so at once, and drops the stream. */
  close(): void {
    if (this.#closed) return;
    const session = this.#session;
    if (session && this.#post && this.#inFlight === null) {
      this.#writePost(this.#post, session, `{"seq":${this.#firstSeq},"frames":[],"close":1000}`);
      this.#post.end();
    }
    this.#end();
  }

  // ---- server to client ----

  #received(chunk: Buffer): void {
    if (this.#head !== null) {
      const head: Buffer = this.#head.length > 0 ? Buffer.concat([this.#head, chunk]) : chunk;
      const end = head.indexOf(HEADER_END);
      if (end === -1) {
        this.#head = Buffer.from(head);
        return;
      }
      this.#head = null;
      const text = head.toString('latin1', 0, end);
      const statusLine = text.slice(0, text.indexOf('\r\n'));
      if (!/^HTTP\/1\.1 200 /.test(statusLine)) {
        this.#handshake?.fail(new Error(`stream refused: ${statusLine}`));
        return;
      }
      this.#chunked = /\r\ntransfer-encoding:\s*chunked\r\n/i.test(`${text}\r\n`);
      chunk = head.subarray(end + 4);
      if (chunk.length === 0) return;
    }
    this.#options.onChunk?.();
    if (this.#chunked) this.#dechunk(chunk);
    else this.#events(chunk);
  }

  /** Takes the body's chunk framing off (`<hex size>[;ext]\r\n<data>\r\n`), byte by byte between data. */
  #dechunk(chunk: Buffer): void {
    const length = chunk.length;
    let at = 0;
    while (at < length) {
      switch (this.#body) {
        case SIZE:
        case SIZE_EXTENSION: {
          const byte = chunk[at++]!;
          if (byte === LINE_FEED) {
            if (this.#chunkLeft === 0) {
              // The last chunk: the server ended the stream.
              this.#body = ENDED;
              this.#end();
              return;
            }
            this.#body = DATA;
          } else if (this.#body === SIZE) {
            const digit = hexDigit(byte);
            if (digit === -1) this.#body = SIZE_EXTENSION;
            else this.#chunkLeft = this.#chunkLeft * 16 + digit;
          }
          break;
        }
        case DATA: {
          const end = Math.min(length, at + this.#chunkLeft);
          this.#events(at === 0 && end === length ? chunk : chunk.subarray(at, end));
          this.#chunkLeft -= end - at;
          at = end;
          if (this.#chunkLeft === 0) this.#body = DATA_END;
          break;
        }
        case DATA_END:
          if (chunk[at++] === LINE_FEED) this.#body = SIZE;
          break;
        case ENDED:
          return;
      }
    }
  }

  /** Splits body bytes into events (each ends at a blank line); what is left waits for more. */
  #events(data: Buffer): void {
    let buffer = data;
    if (this.#partial) {
      buffer = Buffer.concat([this.#partial, data]);
      this.#partial = null;
    }
    let at = 0;
    for (;;) {
      const end = buffer.indexOf(EVENT_END, at);
      if (end === -1) break;
      this.#event(buffer, at, end);
      if (this.#closed) return;
      at = end + 2;
    }
    // The read buffer is shared and reused: keep a copy of what is left over.
    if (at < buffer.length) this.#partial = Buffer.from(buffer.subarray(at));
  }

  /** One event, `buffer[start, end)` without its blank line. */
  #event(buffer: Buffer, start: number, end: number): void {
    // The usual event, a frame on one `data: ` line, goes over in place.
    if (end - start >= DATA_PREFIX.length && buffer.indexOf(LINE_FEED, start) === end && buffer.compare(DATA_PREFIX, 0, DATA_PREFIX.length, start, start + DATA_PREFIX.length) === 0) {
      this.#options.onText(buffer, start + DATA_PREFIX.length, end);
      return;
    }
    let name = 'message';
    const data: string[] = [];
    for (const line of buffer.toString('utf8', start, end).split('\n')) {
      const colon = line.indexOf(':');
      const field = colon === -1 ? line : line.slice(0, colon);
      const value = colon === -1 ? '' : line.slice(line[colon + 1] === ' ' ? colon + 2 : colon + 1);
      if (field === 'event') name = value;
      else if (field === 'data') data.push(value);
    }
    const text = data.join('\n');
    switch (name) {
      case 'message': {
        if (data.length === 0) return;
        const bytes = Buffer.from(text, 'utf8');
        this.#options.onText(bytes, 0, bytes.length);
        return;
      }
      case 'open': {
        const open = JSON.parse(text) as { connection: string; token: string };
        this.#session = { connection: open.connection, token: open.token };
        const handshake = this.#handshake;
        this.#handshake = null;
        handshake?.resolve();
        if (this.#unacknowledged.length > 0) this.#send();
        return;
      }
      case 'ping':
        this.#beat();
        return;
      case 'close':
        this.#end();
        return;
    }
  }

  // ---- client to server ----

  /**
   * Answers a ping with an empty batch, unless a POST went out since the previous ping: the
   * server ends a stream after two pings with no POST between them.
   */
  #beat(): void {
    const answer = !this.#postedSincePing && this.#inFlight === null;
    this.#postedSincePing = false;
    if (answer) this.#send();
  }

  /** POSTs the frames that wait, as many as one batch takes (none: a beat). */
  #send(): void {
    const session = this.#session;
    if (session === null || this.#closed) return;
    let count = 0;
    let bytes = 0;
    for (const frame of this.#unacknowledged) {
      bytes += frame.length;
      if (count > 0 && (bytes > MAX_BATCH_BYTES || count === MAX_BATCH_FRAMES)) break;
      count++;
    }
    this.#inFlight = count;
    this.#postedSincePing = true;
    const body = `{"seq":${this.#firstSeq},"frames":[${this.#unacknowledged.slice(0, count).join(',')}]}`;
    this.#writePost(this.#postSocket(), session, body);
  }

  #writePost(socket: Socket, session: Session, body: string): void {
    socket.write(
      `POST ${withQuery(this.#options.path, '_channels=send')} HTTP/1.1\r\nHost: ${this.#options.host}:${this.#options.port}\r\n` +
        `Content-Type: application/json\r\nOrigin: ${this.#options.origin}\r\nX-Channels-Connection: ${session.connection}\r\n` +
        `X-Channels-Token: ${session.token}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  }

  /** The keep-alive socket for POSTs, opened anew when there is none or it sat idle too long. */
  #postSocket(): Socket {
    const now = performance.now();
    if (this.#post && now - this.#postIdleSince > POST_SOCKET_IDLE_MS) {
      this.#post.destroy();
      this.#post = null;
    }
    if (this.#post) return this.#post;
    const socket = connect({
      host: this.#options.host,
      port: this.#options.port,
      ...(this.#options.localAddress ? { localAddress: this.#options.localAddress } : {}),
      noDelay: true,
    });
    this.#post = socket;
    this.#response = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      if (this.#post === socket) this.#responseBytes(chunk);
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      if (this.#post !== socket) return;
      this.#post = null;
      // Closed with a POST unanswered (the server ended an idle socket as it went out): the
      // same batch again, which the server does not deliver twice.
      if (this.#inFlight !== null) this.#retry();
    });
    return socket;
  }

  #responseBytes(chunk: Buffer): void {
    const response = this.#response.length > 0 ? Buffer.concat([this.#response, chunk]) : chunk;
    const headEnd = response.indexOf(HEADER_END);
    if (headEnd === -1) {
      this.#response = response;
      return;
    }
    const head = response.toString('latin1', 0, headEnd);
    const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
    if (response.length < headEnd + 4 + length) {
      this.#response = response;
      return;
    }
    this.#response = Buffer.alloc(0);
    this.#postIdleSince = performance.now();
    const status = Number(head.slice(9, 12));
    if (/\r\nconnection:\s*close/i.test(head)) {
      this.#post?.destroy();
      this.#post = null;
    }
    if (status === 204) {
      this.#acknowledged(Number(/\r\nx-channels-next:\s*(\d+)/i.exec(head)?.[1]));
    } else if (status === 409) {
      const body = JSON.parse(response.toString('utf8', headEnd + 4, headEnd + 4 + length)) as { expected: number };
      this.#acknowledged(body.expected);
    } else if (status === 503 || status === 504) {
      this.#retry();
    } else {
      this.#options.onRefused?.(status);
      this.#end();
    }
  }

  /** The server has every frame below `next`: drop those, and send what waits. */
  #acknowledged(next: number): void {
    const dropped = next - this.#firstSeq;
    if (!Number.isInteger(next) || dropped < 0 || dropped > this.#unacknowledged.length) {
      this.#options.onRefused?.(0);
      this.#end();
      return;
    }
    this.#unacknowledged.splice(0, dropped);
    this.#firstSeq = next;
    this.#inFlight = null;
    if (this.#unacknowledged.length > 0) this.#send();
  }

  #retry(): void {
    this.#inFlight = null;
    setTimeout(() => {
      if (this.#inFlight === null) this.#send();
    }, RETRY_MS);
  }

  #end(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stream.destroy();
    this.#post?.destroy();
    this.#post = null;
  }
}

function withQuery(path: string, query: string): string {
  return `${path}${path.includes('?') ? '&' : '?'}${query}`;
}

function hexDigit(byte: number): number {
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  const lower = byte | 0x20;
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x61 + 10;
  return -1;
}

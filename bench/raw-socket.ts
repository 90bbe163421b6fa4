/**
 * A WebSocket client cut down to what the load generator needs, over a plain TCP socket: the
 * handshake, unmasked text frames read in place (no string made, no JSON parsed), and masked text
 * frames sent. A `ws` client costs about as much per frame as a naive server, so on two cores a
 * generator built on it would be the bound, not the server under test.
 *
 * With `protocol: 'socket.io'` it speaks just enough Engine.IO v4 and Socket.IO v5 over the
 * WebSocket for the Socket.IO anchor, for the same reason (socket.io-client parses every packet):
 * it answers the open packet `0{...}` with a connect to the main namespace (`40`), counts as
 * open once the server's `40{...}` comes, answers each server ping `2` with `3`, hands each
 * event `42["name",<payload>]` to `onText` as the range of its payload alone, and sends each text
 * as `42["chat.message",<text>]`.
 */
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

/** Called for each text frame with the buffer that holds it and where its payload is. */
export type TextFrameHandler = (buffer: Buffer, start: number, end: number) => void;

export interface RawSocketOptions {
  readonly host: string;
  readonly port: number;
  readonly path: string;
  readonly origin: string;
  readonly onText: TextFrameHandler;
  /** Called once per chunk read from the network, before its frames (to read the clock once). */
  readonly onChunk?: () => void;
  /** What is carried over the WebSocket: text as is (the default), or Socket.IO packets. */
  readonly protocol?: 'websocket' | 'socket.io';
}

const OPCODE_TEXT = 0x1;
const OPCODE_CLOSE = 0x8;
const OPCODE_PING = 0x9;
const OPCODE_PONG = 0xa;
const HEADER_END = Buffer.from('\r\n\r\n');
const READ_BUFFER = Buffer.alloc(256 * 1024);

/** Engine.IO packet types (the first byte of a text frame) and Socket.IO's after a `4` (message). */
const ENGINE_OPEN = '0'.charCodeAt(0);
const ENGINE_PING = '2'.charCodeAt(0);
const ENGINE_MESSAGE = '4'.charCodeAt(0);
const SOCKET_CONNECT = '0'.charCodeAt(0);
const SOCKET_EVENT = '2'.charCodeAt(0);
const SOCKET_CONNECT_ERROR = '4'.charCodeAt(0);
/** `42["`: an event's name starts after it, and its payload after the name's `",`. */
const EVENT_NAME_AT = 4;
const NAME_END = Buffer.from('",');

export class RawSocket {
  readonly #socket: Socket;
  readonly #onText: TextFrameHandler;
  readonly #onChunk: (() => void) | undefined;
  readonly #socketIo: boolean;
  /** Over Socket.IO, the caller's handler, given the payloads of events (`#onText` reads the packets). */
  readonly #socketIoHandler: TextFrameHandler;
  /** The bytes of an incomplete frame, copied out of the shared read buffer. */
  #pending: Buffer | null = null;
  #handshake: { resolve: () => void; fail: (error: Error) => void } | null = null;
  #upgraded = false;
  #closed = false;

  private constructor(socket: Socket, options: RawSocketOptions) {
    this.#socket = socket;
    this.#socketIo = options.protocol === 'socket.io';
    this.#onText = this.#socketIo ? this.#socketIoPacket.bind(this) : options.onText;
    this.#socketIoHandler = options.onText;
    this.#onChunk = options.onChunk;
  }

  /** Connects and completes the handshake; rejects with the status line when refused. */
  static open(options: RawSocketOptions): Promise<RawSocket> {
    return new Promise((resolve, reject) => {
      // Reads land in one buffer shared by every socket and go straight to the callback: no
      // 'data' event, no buffer allocated per read (what a stream costs per chunk adds up).
      let client: RawSocket | null = null;
      const socket = connect({
        host: options.host,
        port: options.port,
        noDelay: true,
        onread: {
          buffer: READ_BUFFER,
          callback: (size: number, buffer: Uint8Array): boolean => {
            if (client) client.#received(Buffer.from(buffer.buffer, buffer.byteOffset, size));
            return true;
          },
        },
      });
      client = new RawSocket(socket, options);
      const opened = client;
      const fail = (error: Error): void => {
        socket.destroy();
        reject(error);
      };
      opened.#handshake = { resolve: () => resolve(opened), fail };
      socket.once('error', fail);
      socket.once('connect', () => {
        socket.write(
          `GET ${options.path} HTTP/1.1\r\nHost: ${options.host}:${options.port}\r\nUpgrade: websocket\r\n` +
            `Connection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\n` +
            `Sec-WebSocket-Version: 13\r\nOrigin: ${options.origin}\r\n\r\n`,
        );
      });
      socket.once('close', () => {
        opened.#closed = true;
        if (opened.#handshake) reject(new Error('connection closed during the handshake'));
      });
    });
  }

  #received(chunk: Buffer): void {
    if (this.#upgraded) {
      this.#read(chunk);
      return;
    }
    const head = this.#pending ? Buffer.concat([this.#pending, chunk]) : Buffer.from(chunk);
    const end = head.indexOf(HEADER_END);
    if (end === -1) {
      this.#pending = head;
      return;
    }
    this.#pending = null;
    const handshake = this.#handshake!;
    const statusLine = head.toString('latin1', 0, head.indexOf('\r\n'));
    if (!/^HTTP\/1\.1 101 /.test(statusLine)) {
      handshake.fail(new Error(`handshake refused: ${statusLine}`));
      return;
    }
    this.#upgraded = true;
    // Over Socket.IO the handshake is done when its connect packet comes back.
    if (!this.#socketIo) this.#opened();
    if (head.length > end + 4) this.#read(head.subarray(end + 4));
  }

  #opened(): void {
    const handshake = this.#handshake;
    if (!handshake) return;
    this.#handshake = null;
    this.#socket.off('error', handshake.fail);
    this.#socket.on('error', () => (this.#closed = true));
    handshake.resolve();
  }

  /** One Engine.IO packet: the open, a ping, Socket.IO's connect (or its refusal), or an event. */
  #socketIoPacket(buffer: Buffer, start: number, end: number): void {
    const type = buffer[start];
    if (type === ENGINE_MESSAGE) {
      const packet = buffer[start + 1];
      if (packet === SOCKET_EVENT) {
        // 42["name",<payload>]: the payload runs from after the name's `",` to before the `]`.
        const nameEnd = buffer.indexOf(NAME_END, start + EVENT_NAME_AT);
        if (nameEnd !== -1 && nameEnd < end) this.#socketIoHandler(buffer, nameEnd + NAME_END.length, end - 1);
      } else if (packet === SOCKET_CONNECT) {
        this.#opened();
      } else if (packet === SOCKET_CONNECT_ERROR) {
        this.#handshake?.fail(new Error(`Socket.IO refused the connect: ${buffer.toString('utf8', start + 2, end)}`));
      }
    } else if (type === ENGINE_PING) {
      this.#sendRaw('3');
    } else if (type === ENGINE_OPEN) {
      this.#sendRaw('40');
    }
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Sends one text frame, masked with a zero key (the server unmasks it all the same); over Socket.IO, as a `chat.message` event. */
  sendText(text: string): void {
    this.#sendRaw(this.#socketIo ? `42["chat.message",${text}]` : text);
  }

  #sendRaw(text: string): void {
    if (this.#closed) return;
    this.#socket.write(frame(OPCODE_TEXT, Buffer.from(text, 'utf8')));
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#socket.end(frame(OPCODE_CLOSE, Buffer.from([0x03, 0xe8])));
    this.#socket.destroySoon();
  }

  #read(chunk: Buffer): void {
    this.#onChunk?.();
    let buffer = chunk;
    if (this.#pending) {
      buffer = Buffer.concat([this.#pending, chunk]);
      this.#pending = null;
    }
    let offset = 0;
    const length = buffer.length;
    while (length - offset >= 2) {
      const opcode = buffer[offset]! & 0x0f;
      let size = buffer[offset + 1]! & 0x7f;
      let header = 2;
      if (size === 126) {
        if (length - offset < 4) break;
        size = buffer.readUInt16BE(offset + 2);
        header = 4;
      } else if (size === 127) {
        if (length - offset < 10) break;
        size = buffer.readUInt32BE(offset + 6);
        header = 10;
      }
      const start = offset + header;
      const end = start + size;
      if (end > length) break;
      if (opcode === OPCODE_TEXT) this.#onText(buffer, start, end);
      else if (opcode === OPCODE_PING) this.#socket.write(frame(OPCODE_PONG, buffer.subarray(start, end)));
      else if (opcode === OPCODE_CLOSE) this.close();
      offset = end;
    }
    // The read buffer is shared and reused: keep a copy of what is left over.
    if (offset < length) this.#pending = Buffer.from(buffer.subarray(offset));
  }
}

/** A client frame: FIN, the opcode, the mask bit with a zero key, and the payload as is. */
function frame(opcode: number, payload: Buffer): Buffer {
  const size = payload.length;
  const header = size < 126 ? 2 : size < 65_536 ? 4 : 10;
  const out = Buffer.alloc(header + 4 + size);
  out[0] = 0x80 | opcode;
  if (size < 126) {
    out[1] = 0x80 | size;
  } else if (size < 65_536) {
    out[1] = 0x80 | 126;
    out.writeUInt16BE(size, 2);
  } else {
    out[1] = 0x80 | 127;
    out.writeUInt32BE(size, 6);
  }
  payload.copy(out, header + 4);
  return out;
}

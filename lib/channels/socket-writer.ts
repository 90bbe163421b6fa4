import type { Duplex } from 'node:stream';
import { type Flushable, flushSoon } from './flush-pacer';

/**
 * The frames queued for one socket until the next paced flush (see `flushSoon`), written as one
 * chunk. A broadcast then costs an array push per member, and a member that is sent
 * several messages in a turn (a busy room) gets them in one write: on loopback and in virtual
 * machines the system call and the wake-up it causes on the other side cost far more than the
 * bytes.
 */
export class SocketWriter implements Flushable {
  readonly #socket: Duplex;
  #chunks: Buffer[] = [];
  #bytes = 0;
  #corked = false;

  constructor(socket: Duplex) {
    this.#socket = socket;
  }

  /**
   * The socket was corked before the handshake response went into it: the response then leaves
   * with the first frames, in one write, at the next flush (frames or not).
   */
  releaseCorkAtFlush(): void {
    this.#corked = true;
    if (this.#chunks.length === 0) flushSoon(this);
  }

  /** Bytes queued here or in the socket, not yet handed to the operating system. */
  get bufferedBytes(): number {
    return this.#bytes + this.#socket.writableLength;
  }

  queue(bytes: Buffer): void {
    // A corked writer is already waiting for the flush.
    if (this.#chunks.length === 0 && !this.#corked) flushSoon(this);
    this.#chunks.push(bytes);
    this.#bytes += bytes.length;
  }

  /** Writes what is queued now (before a close frame, which must come after it). */
  flush(): void {
    const chunks = this.#chunks;
    const corked = this.#corked;
    if (chunks.length === 0 && !corked) return;
    const bytes = this.#bytes;
    this.#chunks = [];
    this.#bytes = 0;
    this.#corked = false;
    const socket = this.#socket;
    if (socket.destroyed || !socket.writable) return;
    if (chunks.length > 0) socket.write(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, bytes));
    if (corked) socket.uncork();
  }

  /** Forgets what is queued (the socket is gone). */
  discard(): void {
    this.#chunks = [];
    this.#bytes = 0;
  }
}

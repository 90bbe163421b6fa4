/**
 * The transport as the core sees it. One adapter maps `ws` onto it (`ws-transport.ts`); the test
 * communicator has an in-memory one. Consumers never touch a socket directly.
 */

/** What a consumer may send: text as is, or a JSON value serialised by the transport. */
export type OutgoingFrame = string | JsonObject;

export type JsonValue = string | number | boolean | null | readonly JsonValue[] | JsonObject;
export type JsonObject = { readonly [key: string]: JsonValue | undefined };

export type ConnectionState = 'handshake' | 'open' | 'closing' | 'closed';

/** Receives what arrives on an accepted connection. */
export interface ConnectionListener {
  text(data: string): void;
  binary(data: Buffer): void;
  /** Called once when the connection is gone, with the close code seen (1006 when none). */
  closed(code: number): void;
  /** Resolves when everything delivered so far has been handled (tests wait on it). */
  whenIdle(): Promise<void>;
}

export interface Connection {
  readonly state: ConnectionState;
  /** Bytes queued for this peer and not yet handed to the operating system. */
  readonly bufferedAmount: number;
  /**
   * Completes the handshake; `listener` receives frames from then on, and hears `closed` once.
   * Rejects when the socket is lost before the handshake completes.
   */
  accept(listener: ConnectionListener): Promise<void>;
  /** Refuses the handshake with an HTTP status. Only valid before `accept`. */
  reject(status: number, reason: string): void;
  /**
   * Sends one text frame. An object is serialised once however many connections it is sent to,
   * so a broadcast object must not be mutated after it is first sent.
   */
  send(frame: OutgoingFrame): void;
  /**
   * Resolves once what was sent so far has been handed to the operating system, or the
   * connection is gone: a sender of much (a long catch-up) waits on it between pieces so that a
   * slow reader sets the pace, rather than the send buffer's limit closing the connection.
   */
  whenSent(): Promise<void>;
  close(code: number, reason?: string): void;
}

/** What a consumer may send: text as is, or a JSON value serialised by the transport. */
export type OutgoingFrame = string | JsonObject;

/** A value JSON can carry: what `sendJson` takes, field by field. */
export type JsonValue = string | number | boolean | null | readonly JsonValue[] | JsonObject;
/** A JSON object; fields that are `undefined` are left out when it is serialised, as `JSON.stringify` does. */
export type JsonObject = { readonly [key: string]: JsonValue | undefined };

/**
 * Where a connection is: `handshake` until it is accepted or refused, `open` while frames flow,
 * `closing` once a close frame is sent, `closed` when the socket is gone.
 */
export type ConnectionState = 'handshake' | 'open' | 'closing' | 'closed';

/**
 * How a connection reaches its client: a WebSocket, or the HTTP fallback (a server-sent-events
 * stream down, POSTs up) that a client uses where the upgrade is refused.
 */
export type Transport = 'websocket' | 'fallback';

/** Receives what arrives on an accepted connection. */
export interface ConnectionListener {
  /** A text frame, decoded as UTF-8. */
  text(data: string): void;
  /** A binary frame. */
  binary(data: Buffer): void;
  /** Called once when the connection is gone, with the close code seen (1006 when none). */
  closed(code: number): void;
  /** Resolves when everything delivered so far has been handled (tests wait on it). */
  whenIdle(): Promise<void>;
}

/**
 * The transport as the core sees it: one connection, before and after its handshake. The `ws`
 * adapter (`transport/ws-connection.ts`) maps a WebSocket onto it, the fallback
 * (`transport/sse-connection.ts`) a stream and its POSTs, and the test communicator has an
 * in-memory one, so consumers never touch a socket directly.
 */
export interface Connection {
  /** Where the connection is; sending is possible while it is `open`. */
  readonly state: ConnectionState;
  /** Which transport carries it; frames, limits and close codes are the same on both. */
  readonly transport: Transport;
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
  /**
   * Starts the closing handshake with `code` (see `CloseCode`). Frames sent before it go first,
   * except with 1013 (too far behind), whose client will resume anyway. Use `reject` before `accept`.
   */
  close(code: number, reason?: string): void;
}

import type { Connection, ConnectionListener } from './connection';

/**
 * WebSocket close codes the framework uses (RFC 6455 §7.4.1, and 4000-4999 for applications). A
 * refusal before the handshake is an HTTP status instead (see `HandshakeError`), because a close
 * frame needs an open socket; one a browser must act on is a 4xxx close after accepting, since a
 * browser cannot see a refused handshake's status.
 *
 * The 4400-4499 range mirrors HTTP's 4xx: the client should not retry with the same credentials,
 * and `ChannelSocket` (in `next-channels/client`) stops on it and shows why. Every other code,
 * except the 1000/1003/1007/1008/1009 of the standard, is worth another try after a backoff.
 * See `isFinalCloseCode`.
 */
export const CloseCode = {
  /** The conversation is over and the client should not reconnect. */
  Normal: 1000,
  /** The server is shutting down or the page is leaving; reconnecting later is expected. */
  GoingAway: 1001,
  /** A binary frame where only text is understood. */
  UnsupportedData: 1003,
  /** No close code was sent (reported locally, never sent). */
  NoStatus: 1005,
  /** The connection dropped without a close frame (reported locally, never sent). */
  Abnormal: 1006,
  /** Text that is not valid UTF-8 (ws sends this itself). */
  InvalidPayload: 1007,
  /** The peer kept breaking a rule after being told (for example the rate limit). */
  PolicyViolation: 1008,
  /** A frame larger than the configured maximum payload (ws sends this itself). */
  MessageTooBig: 1009,
  /** A bug on the server side; logged, and only this connection is affected. */
  InternalError: 1011,
  /** The peer cannot keep up (it stopped reading); it may reconnect and resume. */
  TryAgainLater: 1013,
  /**
   * Authentication is needed: the connection has no identity the route accepts (sign in, then
   * connect again). The client stops retrying.
   */
  AuthenticationRequired: 4401,
  /**
   * The connection's session ended (signed out or revoked): reconnecting with the same cookie
   * would be closed again; a new page load starts a new session. The same code as
   * `AuthenticationRequired`, with the reason `session ended`.
   */
  SessionEnded: 4401,
  /** The identity is known and not allowed here (not a member, not a role the route needs). */
  Forbidden: 4403,
  /** Nothing by that name is here (or the client may not know it is). */
  NotFound: 4404,
  /** What the client asked for is gone for good (deleted, expired). */
  Gone: 4410,
} as const;

/** One of the codes of {@link CloseCode}. */
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

const FINAL_STANDARD_CODES: ReadonlySet<number> = new Set([
  CloseCode.Normal,
  CloseCode.UnsupportedData,
  CloseCode.InvalidPayload,
  CloseCode.PolicyViolation,
  CloseCode.MessageTooBig,
]);

/**
 * Whether a client should stop reconnecting after a close with `code`: 1000, 1003, 1007, 1008 and
 * 1009, and every code from 4400 to 4499. Anything else (1001 shutting down, 1006 a lost line or
 * a refused handshake, 1011, 1013, the other 4xxx) is retried with backoff.
 */
export function isFinalCloseCode(code: number): boolean {
  return FINAL_STANDARD_CODES.has(code) || (code >= 4400 && code <= 4499);
}

/** Listens to nothing: a connection accepted only to be closed at once. */
const DEAF: ConnectionListener = {
  text() {},
  binary() {},
  closed() {},
  whenIdle: () => Promise.resolve(),
};

/**
 * Refuses a connection in a way a browser can read: accepts the handshake and closes at once with
 * `code` (a 4xxx of {@link CloseCode}) and `reason`, sending nothing before the close. For
 * middleware; a consumer calls `this.close(code, reason)` before accepting, which does the same.
 */
export async function closeAfterAccept(connection: Connection, code: number, reason: string): Promise<void> {
  await connection.accept(DEAF);
  connection.close(code, reason);
}

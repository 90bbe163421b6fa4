/**
 * WebSocket close codes the framework uses (RFC 6455 §7.4.1, and 4000-4999 for applications). A
 * refusal before the handshake is an HTTP status instead (see `HandshakeError`), because a close
 * frame needs an open socket; one a browser must act on is a 4xxx close after accepting, since a
 * browser cannot see a refused handshake's status.
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
   * The connection's session ended (signed out or revoked): reconnecting with the same cookie
   * would be closed again; a new page load starts a new session.
   */
  SessionEnded: 4401,
} as const;

export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/**
 * The few errors the framework throws. Each carries the data a caller needs to react: an HTTP
 * status for a refused handshake, the channel name for a full channel.
 */

/** A WebSocket handshake refused with an HTTP status, before any frame is exchanged. */
export class HandshakeError extends Error {
  /** `'HandshakeError'`, so logs and `error.name` checks tell it apart. */
  override name = 'HandshakeError';
  constructor(
    /** The HTTP status the handshake is answered with. */
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** No route matches the upgrade's path (HTTP 404). */
export class RouteNotFound extends HandshakeError {
  /** `'RouteNotFound'`, so logs and `error.name` checks tell it apart. */
  override name = 'RouteNotFound';
  constructor(
    /** The path no route matched, as sent. */
    readonly path: string,
  ) {
    super(404, `no route matches ${JSON.stringify(path)}`);
  }
}

/** A consumer or middleware refused the connection (HTTP 403 unless another status is given). */
export class DenyConnection extends HandshakeError {
  /** `'DenyConnection'`, so logs and `error.name` checks tell it apart. */
  override name = 'DenyConnection';
  constructor(reason = 'connection denied', status = 403) {
    super(status, reason);
  }
}

/**
 * A refusal a browser must be able to read (sign in, not allowed, not found, gone): the
 * connection is accepted and closed at once with `code` (a 4xxx of `CloseCode`) and `reason`,
 * nothing sent before it. Thrown by a resolver of `authMiddleware`, a route's `authorize`, a
 * consumer's `authorizeGroup` or any hook; after accepting, the connection closes the same way.
 */
export class ConnectionRefused extends Error {
  /** `'ConnectionRefused'`, so logs and `error.name` checks tell it apart. */
  override name = 'ConnectionRefused';
  constructor(
    /** The close code: `CloseCode.AuthenticationRequired` (4401), `Forbidden` (4403), `NotFound` (4404), `Gone` (4410)… */
    readonly code: number,
    /** What the client is told, in the close frame (at most 123 bytes of UTF-8 are sent). */
    readonly reason: string,
  ) {
    super(`${code} ${reason}`);
  }
}

/** A channel already holds `capacity` undelivered messages. */
export class ChannelFull extends Error {
  /** `'ChannelFull'`, so logs and `error.name` checks tell it apart. */
  override name = 'ChannelFull';
  constructor(
    /** The channel that is full. */
    readonly channel: string,
    /** The layer's capacity per channel. */
    readonly capacity: number,
  ) {
    super(`channel ${channel} is full (capacity ${capacity})`);
  }
}

/** A channel, group or event type name that does not fit the naming rules. */
export class InvalidName extends Error {
  /** `'InvalidName'`, so logs and `error.name` checks tell it apart. */
  override name = 'InvalidName';
  constructor(kind: 'channel' | 'group' | 'event type', value: unknown, rule: string) {
    super(`invalid ${kind} name ${JSON.stringify(value)}: expected ${rule}`);
  }
}

/** A layer event reached a consumer that declares no handler for its type. */
export class NoHandler extends Error {
  /** `'NoHandler'`, so logs and `error.name` checks tell it apart. */
  override name = 'NoHandler';
  constructor(
    /** The event's `type`, which names the handler that was missing. */
    readonly eventType: string,
    consumer: string,
  ) {
    super(`${consumer} has no handler for event type ${JSON.stringify(eventType)}`);
  }
}

/** A presence key or meta out of bounds (see `MAX_PRESENCE_KEY_LENGTH`, `MAX_PRESENCE_META_BYTES`). */
export class InvalidPresence extends Error {
  /** `'InvalidPresence'`, so logs and `error.name` checks tell it apart. */
  override name = 'InvalidPresence';
  constructor(
    /** Which part was refused. */
    readonly part: 'key' | 'meta',
    expected: string,
  ) {
    super(`invalid presence ${part}: expected ${expected}`);
  }
}

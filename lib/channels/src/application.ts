import type { Connection } from './connection';
import type { ChannelLayer } from './layers/types';
import type { Logger } from './logger';
import type { PresenceTracker } from './presence/types';
import type { Scope } from './scope';

/** What an application can use besides its scope: shared services of the running server. */
export interface Environment {
  /** The channel layer, or `null` when the server runs without one. */
  readonly layer: ChannelLayer | null;
  /** Where consumers and middleware log (a consumer reads it as `this.logger`). */
  readonly logger: Logger;
  /**
   * Who is present in each group (`WebsocketConsumer.track`); absent or `null` when the server
   * has none. The socket server defaults to an `InMemoryPresence` when it has a channel layer.
   */
  readonly presence?: PresenceTracker | null;
}

/**
 * The shape shared by consumers, routers and middleware, so they nest:
 * `originValidator(sessionMiddleware(urlRouter([...])), origins)`. It resolves once the connection
 * is accepted or refused. Throwing a `HandshakeError` before accepting refuses the handshake with
 * its HTTP status; any other error before accepting is a 500.
 */
export type Application = (scope: Scope, connection: Connection, env: Environment) => Promise<void>;

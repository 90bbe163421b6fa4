/**
 * next-channels: a Django-Channels-style real-time layer for Node and Next.js. Consumers, URL
 * routing, middleware, a channel layer with groups, presence (in memory here; Redis in
 * `next-channels/redis`), and the protocol server that connects them to `ws`. It knows nothing of
 * Next.js or React: `next-channels/next` serves a Next app and the consumers from one server.
 *
 * @packageDocumentation
 */
export type { Application, Environment } from './application';
export {
  anyOf,
  authMiddleware,
  bearerToken,
  WebsocketTickets,
  type Authentication,
  type TicketStore,
  type UserResolver,
  type WebsocketTicketOptions,
} from './auth';
export { closeAfterAccept, CloseCode, isFinalCloseCode } from './close-codes';
export type { Connection, ConnectionListener, ConnectionState, JsonObject, JsonValue, OutgoingFrame, Transport } from './connection';
export { JsonWebsocketConsumer } from './json-consumer';
export {
  WebsocketConsumer,
  type ConsumerClass,
  type ConsumerFactory,
  type EventHandlers,
  type EventMap,
  type EventOf,
  type Hook,
  type Responder,
  type StartableConsumer,
} from './consumer';
export { ProtocolConsumer } from './protocol-consumer';
export type { FrameMap, Frames, FrameValidator, OfType, ReplyOf, SocketProtocol, TypedFrame } from './protocol';
export type { FrameworkErrorCode, PresenceEntryFrame } from './framework-frames';
export { ChannelFull, ConnectionRefused, DenyConnection, HandshakeError, InvalidName, InvalidPresence, NoHandler, RouteNotFound } from './errors';
export { channelLayer, installChannelLayer, uninstallChannelLayer, type LiveLayer } from './live-layer';
export { InMemoryChannelLayer, type InMemoryChannelLayerOptions } from './layers/in-memory';
export type { ChannelLayer, ChannelLayerOptions, ChannelReceiver, GroupSendOptions, LayerMessage } from './layers/types';
export { jsonLogger, LOG_LEVELS, silentLogger, type LogFields, type Logger, type LogLevel } from './logger';
export { FlushPacer, type Flushable, type Pacing } from './flush-pacer';
export type { FallbackPostOutcome, TransportMetrics } from './metrics';
export { AllowedOrigins, originValidator } from './middleware/origin';
export { KeyedBuckets, TokenBucket, type KeyedBucketsOptions, type RateLimit } from './rate-limit';
export { Reachability } from './reachability';
export { include, route, urlRouter, type ParamsOf, type Route, type RouteOptions } from './routing';
export { processSlot, processState, type ProcessSlot } from './process-slot';
export { ChangePacer } from './presence/change-pacer';
export type { PresenceChange } from './presence/consumer-presence';
export { InMemoryPresence } from './presence/in-memory';
export { installPresence, livePresence, uninstallPresence } from './presence/live-presence';
export {
  DEFAULT_PRESENCE_CHANGE_INTERVAL_MS,
  MAX_PRESENCE_KEY_LENGTH,
  MAX_PRESENCE_META_BYTES,
  type PresenceEntry,
  type PresenceOptions,
  type PresenceSnapshot,
  type PresenceTracker,
  type PresenceUpdate,
  type PresenceWatcher,
} from './presence/types';
export type { AppUser, Register, RegisteredUser, RouteParams, Scope, ScopeQuery, SessionUser } from './scope';
export {
  MIN_SECRET_LENGTH,
  newSessionId,
  SESSION_ENDED,
  SessionCookies,
  sessionGroup,
  sessionMiddleware,
  sessionResolver,
  type CookieSession,
  type Session,
  type SessionCookieOptions,
} from './sessions';
export { RevocationCheck, type RevocationCheckOptions, type SessionRevocations } from './session-revocations';
export { createGuardedServer, type HttpGuardOptions } from './transport/http-guard';
export { type ForwardedRequest, ProxyTrust } from './transport/proxy-trust';
export { refuseUpgrade } from './transport/refuse-upgrade';
export { SocketServer, type SocketServerOptions } from './transport/socket-server';

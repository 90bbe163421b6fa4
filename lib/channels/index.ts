/**
 * A Django-Channels-style real-time layer for Node: consumers, URL routing, a channel layer with
 * groups, middleware, and the protocol server that connects them to `ws`. It knows nothing of the
 * chat, Next.js or React. Tests use `./testing` (the communicator) beside this barrel.
 */
export type { Application, Environment } from './application';
export { CloseCode } from './close-codes';
export type { Connection, ConnectionListener, ConnectionState, JsonObject, JsonValue, OutgoingFrame } from './connection';
export { JsonWebsocketConsumer } from './json-consumer';
export {
  WebsocketConsumer,
  type ConsumerClass,
  type ConsumerFactory,
  type EventHandlers,
  type EventMap,
  type EventOf,
} from './consumer';
export { ChannelFull, DenyConnection, HandshakeError, InvalidName, NoHandler, RouteNotFound } from './errors';
export { createGuardedServer, type HttpGuardOptions } from './http-guard';
export { HotReloader, type HotReloaderOptions, hotKey, trackLiveConsumers, upgradeLiveConsumers } from './hot-reload';
export { InMemoryChannelLayer, type InMemoryChannelLayerOptions } from './layers/in-memory';
export { RedisChannelLayer, type RedisChannelLayerOptions } from './layers/redis';
export { redisConnectionOptions, RedisSupervisor, type RedisSupervisorEvents, type RedisTimeouts } from './layers/redis-supervisor';
export { Reachability } from './reachability';
export type { ChannelLayer, ChannelReceiver, LayerMessage } from './layers/types';
export { createLogger, LOG_LEVELS, silentLogger, type LogFields, type Logger, type LogLevel } from './logger';
export { type Flushable, flushSoon } from './flush-pacer';
export { TransportMetrics } from './metrics';
export { AllowedOrigins, originValidator } from './middleware/origin';
export { KeyedBuckets, TokenBucket, type KeyedBucketsOptions, type RateLimit } from './rate-limit';
export { include, route, urlRouter, type ParamsOf, type Route, type RouteOptions } from './routing';
export { processSlot, type ProcessSlot } from './runtime';
export { type ForwardedRequest, ProxyTrust } from './proxy-trust';
export type { RouteParams, Scope, ScopeQuery, SessionUser } from './scope';
export {
  MIN_SECRET_LENGTH,
  newSessionId,
  SESSION_ENDED,
  SessionCookies,
  sessionGroup,
  sessionMiddleware,
  type CookieSession,
  type Session,
  type SessionCookieOptions,
} from './sessions';
export { RevocationCheck, type RevocationCheckOptions, type SessionRevocations } from './session-revocations';
export { refuseUpgrade } from './refuse-upgrade';
export { SocketServer, type SocketServerOptions } from './ws-transport';

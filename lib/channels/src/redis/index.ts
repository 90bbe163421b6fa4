/**
 * `next-channels/redis`: a channel layer over Redis pub/sub and presence shared through Redis (one
 * server, or a Redis Cluster with sharded pub/sub), for apps served by several processes. ioredis
 * is an optional peer dependency: install it to use this entry.
 *
 * @packageDocumentation
 */
export { RedisPresence, type RedisPresenceOptions } from './redis-presence';
export { RedisChannelLayer, type RedisChannelLayerOptions } from './redis-layer';
export { redisConnectionOptions, RedisSupervisor, type RedisSupervisorEvents, type RedisTimeouts } from './supervisor';
export { RedisTickets, type RedisTicketsOptions } from './redis-tickets';
export { assertRedisTarget, type RedisTarget } from './connection';

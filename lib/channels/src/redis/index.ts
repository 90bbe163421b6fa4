/**
 * `next-channels/redis`: a channel layer over Redis pub/sub, for apps served by several
 * processes. ioredis is an optional peer dependency: install it to use this entry.
 *
 * @packageDocumentation
 */
export { RedisChannelLayer, type RedisChannelLayerOptions } from './redis-layer';
export { redisConnectionOptions, RedisSupervisor, type RedisSupervisorEvents, type RedisTimeouts } from './supervisor';

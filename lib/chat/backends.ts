import { type ChannelLayer, type FlushPacer, InMemoryChannelLayer, InMemoryPresence, type Logger, type PresenceTracker, type TicketStore } from 'next-channels';
import { RedisChannelLayer, RedisPresence, type RedisTarget, RedisTickets } from 'next-channels/redis';
import type { ServerConfig } from './config';
import { PostgresMessageStore } from './store/postgres';
import { SqliteMessageStore } from './store/sqlite';
import type { MessageStore } from './store/types';

export interface Backends {
  readonly store: MessageStore;
  readonly layer: ChannelLayer;
  readonly presence: PresenceTracker;
  /** Where WebSocket tickets wait: Redis when processes share one (a ticket is good on any of them), else `null` (this process). */
  readonly tickets: TicketStore | null;
  /** Closes them all, finishing pending writes first. */
  close(): Promise<void>;
}

export interface BackendOptions {
  readonly logger: Logger;
  /** The process's write pacer, shared by the sockets, the Redis layer and the PostgreSQL store. */
  readonly pacer: FlushPacer;
}

/**
 * Opens what the configuration names: SQLite or PostgreSQL for messages; for the channel layer
 * and presence, this process's memory, or Redis (one server or a cluster, under `REDIS_PREFIX`)
 * when several processes serve one site. Rejects
 * with one clear line when one cannot be reached.
 */
export async function openBackends(
  config: Pick<ServerConfig, 'store' | 'redisUrl' | 'redisCluster' | 'redisPrefix' | 'presenceExpiryMs'>,
  options: BackendOptions,
): Promise<Backends> {
  const { logger, pacer } = options;
  const opened: Array<{ close(): Promise<void> }> = [];
  try {
    const store =
      config.store.kind === 'postgres'
        ? await PostgresMessageStore.connect(config.store.url, { logger, pacer })
        : new SqliteMessageStore(config.store.file);
    opened.push(store);
    // One Redis or a Redis Cluster, under the site's prefix.
    const redis: (RedisTarget & { readonly prefix: string }) | null =
      config.redisCluster !== null
        ? { cluster: config.redisCluster, prefix: config.redisPrefix }
        : config.redisUrl !== null
          ? { url: config.redisUrl, prefix: config.redisPrefix }
          : null;
    const layer = redis ? await RedisChannelLayer.connect({ ...redis, logger, pacer }) : new InMemoryChannelLayer();
    opened.push(layer);
    const presence = redis ? await RedisPresence.connect({ ...redis, logger, expiryMs: config.presenceExpiryMs }) : new InMemoryPresence();
    opened.push(presence);
    const tickets = redis ? await RedisTickets.connect(redis) : null;
    if (tickets) opened.push(tickets);
    return {
      store,
      layer,
      presence,
      tickets,
      async close() {
        // Presence first (its goodbye needs Redis), the store last (pending writes finish).
        await tickets?.close();
        await presence.close();
        await layer.close();
        await store.close();
      },
    };
  } catch (error) {
    await Promise.allSettled(opened.map((backend) => backend.close()));
    throw error;
  }
}

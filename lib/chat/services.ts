import type { IncomingMessage, ServerResponse } from 'node:http';
import { type ChannelLayer, type FlushPacer, type Logger, type PresenceTracker, SessionCookies } from 'next-channels';
import { PrometheusMetrics } from 'next-channels/prometheus';
import { accessServices } from './access-services';
import type { LiveChat } from './app';
import { openBackends } from './backends';
import { resolveSessionSecret, type ServerConfig } from './config';
import { chatRequestHandler } from './http-pipeline';
import { checkSessionUser } from './identity';
import { ChatMetrics } from './metrics';
import { TypingPacer } from './presence';
import { ChatQuotas } from './quotas';
import { RoomHeads } from './room-heads';
import { installChatRuntime } from './runtime';
import { ReadPacer } from './store/read-pacer';

/** The largest WebSocket frame the chat accepts. */
export const MAX_FRAME_BYTES = 64 * 1024;

/** The chat's long-lived services, open: what server.ts hands to the Next adapter. */
export interface ChatServices {
  /** What every generation of lib/chat/app.ts builds on (its `service` is set by each). */
  readonly live: LiveChat;
  readonly layer: ChannelLayer;
  /** Who is in each room, in this process or (with Redis) in every process: for `serveNext`. */
  readonly presence: PresenceTracker;
  readonly metrics: PrometheusMetrics;
  /** The chat's part of every HTTP request (the adapter's `onRequest`). */
  readonly onRequest: (req: IncomingMessage, res: ServerResponse) => boolean | Promise<boolean>;
  /** Closes the heads watcher, presence, layer and store, finishing pending writes. */
  close(): Promise<void>;
}

/**
 * Opens what the configuration names (store, channel layer, presence) and the services over
 * them, and installs the chat's runtime for route handlers. Rejects with one clear line when a
 * backend cannot be reached.
 */
export async function openChatServices(config: ServerConfig, options: { readonly logger: Logger; readonly pacer: FlushPacer }): Promise<ChatServices> {
  const { logger } = options;
  const secret = await resolveSessionSecret(config);
  const backends = await openBackends(config, options);
  const { store, layer, presence } = backends;
  // Ended sessions live in the message store's database, which every process shares.
  const sessions = new SessionCookies({ secret, secure: config.secureCookies, revocations: store, checkUser: checkSessionUser });
  const metrics = new PrometheusMetrics();
  metrics.collectProcessMetrics();
  // The rooms' newest ids from the store: connections fill any gap on their open sockets.
  const heads = new RoomHeads(store, { logger });
  const { accounts, rooms, access, search, tickets } = accessServices({ store, sessions, limited: config.rateLimit !== null, ticketStore: backends.tickets });
  const live = {
    access,
    tickets,
    presence,
    typing: new TypingPacer(),
    metrics: new ChatMetrics(metrics.registry),
    sessions,
    allowedOrigins: config.allowedOrigins,
    quotas: config.rateLimit ? new ChatQuotas({ messages: config.rateLimit }) : null,
    reads: new ReadPacer(),
    editWindowMs: config.editWindowMs,
    heads,
    maxFrameBytes: MAX_FRAME_BYTES,
    store,
    layer,
    logger,
  } as LiveChat; // `service` is set by each generation of lib/chat/app.ts
  installChatRuntime({
    get service() {
      return live.service;
    },
    sessions,
    allowedOrigins: config.allowedOrigins,
    adminToken: config.adminToken,
    accounts,
    rooms,
    access,
    search,
    tickets,
  });
  const ops = { store, layer, registry: metrics.registry, publicUrl: config.publicUrl };
  return {
    live,
    layer,
    presence,
    metrics,
    onRequest: chatRequestHandler({ config, sessions, logger, ops }),
    async close() {
      heads.close();
      await backends.close();
    },
  };
}

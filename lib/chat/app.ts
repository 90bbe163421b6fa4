/**
 * The part of the chat server that reloads while you develop: routing, consumers and the chat
 * service. server.ts loads this module through `HotReloader` in development (and once in
 * production); everything that holds sockets or state (the transport, the channel layer, the
 * store, presence, sessions) is made before it and lives on across reloads.
 */
import type { Application, ChannelLayer, Logger } from '../channels';
import { ChatService } from './chat-service';
import { ChatConsumer } from './consumer';
import type { ChatMetrics } from './metrics';
import { NotificationConsumer } from './notifications';
import { type ChatApplicationOptions, chatApplication } from './routing';
import type { ReadPacer } from './store/read-pacer';
import type { MessageStore } from './store/types';

/**
 * The chat's long-lived services, shared by every generation of the code. `service` is replaced
 * by each generation; open connections read it from here, so they use the newest one.
 */
export interface LiveChat extends ChatApplicationOptions {
  service: ChatService;
  readonly store: MessageStore;
  readonly layer: ChannelLayer;
  readonly logger: Logger;
  readonly metrics: ChatMetrics;
  /** Paces the store reads of every connection of the process. */
  readonly reads: ReadPacer;
}

/** The consumer classes whose open connections move to a newly loaded version. */
export const liveConsumerClasses = [ChatConsumer, NotificationConsumer];

/** Builds this generation's service and application over the live services. */
export function buildChatApplication(live: LiveChat): Application {
  const presence = live.presence;
  live.service = new ChatService({
    store: live.store,
    layer: live.layer,
    logger: live.logger,
    metrics: live.metrics,
    reads: live.reads,
    participants: async (room) => (await presence.list(room)).frame.users,
  });
  return chatApplication(live);
}

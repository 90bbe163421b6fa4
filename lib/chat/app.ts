/**
 * The part of the chat that reloads while you develop: its routes, consumers and service. The
 * project's routing (routing.ts at the root) calls `chatRoutesFor` on every load, in development
 * on every change; everything that holds sockets or state (the transport, the channel layer, the
 * store, presence, sessions) is made before it and lives on across reloads.
 */
import type { ChannelLayer, Logger, PresenceTracker, Route } from 'next-channels';
import type { RoomAccess } from './access';
import { ChatService } from './chat-service';
import type { ChatMetrics } from './metrics';
import { roomParticipants } from './presence';
import { type ChatApplicationOptions, chatRoutes } from './routing';
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
  /** Who is in each room: the tracker the server's consumers use (given to `serveNext`). */
  readonly presence: PresenceTracker;
  readonly logger: Logger;
  readonly metrics: ChatMetrics;
  /** Who may read which room, with the kinds of rooms it has looked up. */
  readonly access: RoomAccess;
  /** Paces the store reads of every connection of the process. */
  readonly reads: ReadPacer;
  /** How long after sending it an author may edit a message (default: the service's). */
  readonly editWindowMs?: number;
}

/** Makes this generation's chat service over the live services, and returns the chat's routes. */
export function chatRoutesFor(live: LiveChat): Route[] {
  live.service = new ChatService({
    store: live.store,
    layer: live.layer,
    logger: live.logger,
    metrics: live.metrics,
    reads: live.reads,
    participants: roomParticipants(live.presence),
    access: live.access,
    ...(live.editWindowMs === undefined ? {} : { editWindowMs: live.editWindowMs }),
  });
  return chatRoutes(live);
}

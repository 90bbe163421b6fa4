import {
  type AllowedOrigins,
  type Application,
  CloseCode,
  ConnectionRefused,
  originValidator,
  route,
  type Route,
  type SessionCookies,
  urlRouter,
  type WebsocketTickets,
} from 'next-channels';
import { chatAuthentication } from './chat-identity';
import { ChatConsumer, type ChatConsumerOptions } from './consumer';
import { NotificationConsumer } from './notifications';
import { DEFAULT_ROOM, ROOM_NAME } from './protocol';
import { StoreUnavailable } from './store/types';

/**
 * The chat's routes, its `websocket_urlpatterns`: `/ws/chat/` is the lobby; a room name outside
 * `ROOM_NAME` is a 404; `/ws/notifications/` carries a person's notifications. The project's
 * routing (routing.ts at the root) puts them inside its middleware.
 */
export function chatRoutes(options: ChatConsumerOptions): Route[] {
  const chat = (scope: ConstructorParameters<typeof ChatConsumer>[0]): ChatConsumer => new ChatConsumer(scope, options);
  // Before accept, on every connection (so on every reconnect): a private room is open to its
  // members only, and to anyone else it is a room that does not exist.
  const authorize = async (scope: { readonly params: { readonly room?: string }; readonly user: { readonly id: string } | null }): Promise<boolean> => {
    let access;
    try {
      access = await options.service.access.check(scope.params.room ?? DEFAULT_ROOM, scope.user?.id ?? null);
    } catch (error) {
      if (error instanceof StoreUnavailable) throw new ConnectionRefused(CloseCode.TryAgainLater, 'the store is unavailable; try again');
      throw error;
    }
    if (access === null) throw new ConnectionRefused(CloseCode.NotFound, 'no such room');
    return true;
  };
  return [
    route('/ws/chat/', chat),
    route('/ws/chat/:room/', chat, { params: { room: ROOM_NAME }, authorize }),
    route('/ws/notifications/', NotificationConsumer),
  ];
}

export interface ChatApplicationOptions extends ChatConsumerOptions {
  readonly sessions: SessionCookies;
  readonly allowedOrigins: AllowedOrigins;
  /** Tickets for pages on another origin (`POST /api/session/ticket`); `null` or absent: none accepted. */
  readonly tickets?: WebsocketTickets | null;
}

/**
 * The chat alone inside the middleware the project gives it (Origin check, then who the
 * connection is: see `chatAuthentication`): what tests serve when they need the chat and nothing else.
 */
export function chatApplication(options: ChatApplicationOptions): Application {
  return originValidator(chatAuthentication(urlRouter(chatRoutes(options)), options.sessions, options.tickets ?? null), options.allowedOrigins);
}

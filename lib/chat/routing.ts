import {
  type AllowedOrigins,
  type Application,
  originValidator,
  route,
  type Route,
  type SessionCookies,
  sessionMiddleware,
  urlRouter,
} from 'next-channels';
import { ChatConsumer, type ChatConsumerOptions } from './consumer';
import { newGuest } from './identity';
import { NotificationConsumer } from './notifications';
import { ROOM_NAME } from './protocol';

/**
 * The chat's routes, its `websocket_urlpatterns`: `/ws/chat/` is the lobby; a room name outside
 * `ROOM_NAME` is a 404; `/ws/notifications/` carries a person's notifications. The project's
 * routing (routing.ts at the root) puts them inside its middleware.
 */
export function chatRoutes(options: ChatConsumerOptions): Route[] {
  const chat = (scope: ConstructorParameters<typeof ChatConsumer>[0]): ChatConsumer => new ChatConsumer(scope, options);
  return [
    route('/ws/chat/', chat),
    route('/ws/chat/:room/', chat, { params: { room: ROOM_NAME } }),
    route('/ws/notifications/', NotificationConsumer),
  ];
}

export interface ChatApplicationOptions extends ChatConsumerOptions {
  readonly sessions: SessionCookies;
  readonly allowedOrigins: AllowedOrigins;
}

/**
 * The chat alone inside the middleware the project gives it (Origin check, then the session):
 * what tests serve when they need the chat and nothing else.
 */
export function chatApplication(options: ChatApplicationOptions): Application {
  return originValidator(sessionMiddleware(urlRouter(chatRoutes(options)), options.sessions, newGuest), options.allowedOrigins);
}

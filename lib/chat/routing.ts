import {
  type AllowedOrigins,
  type Application,
  originValidator,
  route,
  type SessionCookies,
  sessionMiddleware,
  urlRouter,
} from '../channels';
import { ChatConsumer, type ChatConsumerOptions } from './consumer';
import { newGuest } from './identity';
import { NotificationConsumer } from './notifications';
import { ROOM_NAME } from './protocol';

export interface ChatApplicationOptions extends ChatConsumerOptions {
  readonly sessions: SessionCookies;
  readonly allowedOrigins: AllowedOrigins;
}

/**
 * The app's WebSocket application, like a Django project's `routing.py`: Origin check, then the
 * session, then the routes. `/ws/chat/` is the lobby; a room name outside `ROOM_NAME` is a 404;
 * `/ws/notifications/` carries a person's notifications.
 */
export function chatApplication(options: ChatApplicationOptions): Application {
  const chat = (scope: ConstructorParameters<typeof ChatConsumer>[0]): ChatConsumer => new ChatConsumer(scope, options);
  return originValidator(
    sessionMiddleware(
      urlRouter([
        route('/ws/chat/', chat),
        route('/ws/chat/:room/', chat, { params: { room: ROOM_NAME } }),
        route('/ws/notifications/', NotificationConsumer),
      ]),
      options.sessions,
      newGuest,
    ),
    options.allowedOrigins,
  );
}

import {
  type AllowedOrigins,
  type Application,
  originValidator,
  route,
  type SessionCookies,
  sessionMiddleware,
  urlRouter,
} from '../../lib/channels';
import { ChatConsumer, type ChatConsumerOptions } from '../../lib/chat/consumer';
import { newGuest } from '../../lib/chat/identity';
import { NotificationConsumer } from '../../lib/chat/notifications';
import { ROOM_NAME } from '../../lib/chat/protocol';
// New: the counter's route (from lib/chat/, import it from '../counter/counter-consumer').
import { counterRoute } from './counter-consumer';

export interface ChatApplicationOptions extends ChatConsumerOptions {
  readonly sessions: SessionCookies;
  readonly allowedOrigins: AllowedOrigins;
}

/** lib/chat/routing.ts with the counter added: Origin check, then the session, then the routes. */
export function chatApplication(options: ChatApplicationOptions): Application {
  const chat = (scope: ConstructorParameters<typeof ChatConsumer>[0]): ChatConsumer => new ChatConsumer(scope, options);
  return originValidator(
    sessionMiddleware(
      urlRouter([
        route('/ws/chat/', chat),
        route('/ws/chat/:room/', chat, { params: { room: ROOM_NAME } }),
        route('/ws/notifications/', NotificationConsumer),
        counterRoute, // New: /ws/counter/<name>/
      ]),
      options.sessions,
      newGuest,
    ),
    options.allowedOrigins,
  );
}

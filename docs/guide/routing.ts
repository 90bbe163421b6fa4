import { type Application, originValidator, sessionMiddleware, urlRouter } from 'next-channels';
import { newGuest } from '../../lib/chat/identity';
import { type ChatApplicationOptions, chatRoutes } from '../../lib/chat/routing';
// New: the counter's routes (from the project's routing.ts, './lib/counter/counter-consumer').
import { counterRoute } from './counter-consumer';

/** The project's routing.ts with the counter added: Origin check, then the session, then every feature's routes. */
export function websocketApplication(chat: ChatApplicationOptions): Application {
  const routes = [
    ...chatRoutes(chat),
    counterRoute, // New: /ws/counter/<name>/
  ];
  return originValidator(sessionMiddleware(urlRouter(routes), chat.sessions, newGuest), chat.allowedOrigins);
}

/**
 * The project's WebSocket routing, as a Django project's `routing.py`: every feature's routes (its
 * `websocket_urlpatterns`), inside the Origin check and the session middleware. A new feature
 * keeps its consumers in a folder of its own and adds its routes here; nothing in lib/chat
 * changes. In development this module, and what only it loads, reloads in place on a change.
 */
import { type Application, originValidator, sessionMiddleware, urlRouter } from 'next-channels';
import { chatRoutesFor, type LiveChat } from './lib/chat/app';
import { newGuest } from './lib/chat/identity';

/** Builds the application over the chat's long-lived services (server.ts passes them). */
export function websocketApplication(chat: LiveChat): Application {
  const routes = [...chatRoutesFor(chat)];
  return originValidator(sessionMiddleware(urlRouter(routes), chat.sessions, newGuest), chat.allowedOrigins);
}

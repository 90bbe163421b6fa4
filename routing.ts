/**
 * The project's WebSocket routing, as a Django project's `routing.py`: every feature's routes (its
 * `websocket_urlpatterns`), inside the Origin check and the chat's authentication (a ticket, a
 * bearer token, the session cookie, else a guest). A new feature keeps its consumers in a folder
 * of its own and adds its routes here; nothing in lib/chat changes. In development this module, and what only it loads, reloads in place on a change.
 */
import { type Application, originValidator, urlRouter } from 'next-channels';
import { chatRoutesFor, type LiveChat } from './lib/chat/app';
import { chatAuthentication } from './lib/chat/chat-identity';

/** Builds the application over the chat's long-lived services (server.ts passes them). */
export function websocketApplication(chat: LiveChat): Application {
  const routes = [...chatRoutesFor(chat)];
  return originValidator(chatAuthentication(urlRouter(routes), chat.sessions, chat.tickets ?? null), chat.allowedOrigins);
}

import { type AllowedOrigins, type ChannelLayer, channelLayer, processSlot, type SessionCookies, type WebsocketTickets } from 'next-channels';
import type { RoomAccess } from './access';
import type { Accounts } from './accounts';
import type { ChatService } from './chat-service';
import type { Rooms } from './rooms';
import type { MessageSearch } from './search';

/** The live services of the running chat, as route handlers and server actions see them. */
export interface ChatRuntime {
  /** The current chat service (a getter: server code reloads in development replace it). */
  readonly service: ChatService;
  /** The live channel layer, to push events to consumers (`notifyUser`, `layer.groupSend`). */
  readonly layer: ChannelLayer;
  readonly sessions: SessionCookies;
  readonly allowedOrigins: AllowedOrigins;
  /** Bearer token of the admin routes; `null` turns them off (they answer 404). */
  readonly adminToken: string | null;
  readonly accounts: Accounts;
  readonly rooms: Rooms;
  /** Who may read which room. */
  readonly access: RoomAccess;
  /** Search in the rooms a person may read (`GET /api/search`). */
  readonly search: MessageSearch;
  /** WebSocket tickets for pages on another origin (`POST /api/session/ticket`). */
  readonly tickets: WebsocketTickets;
}

/** What the chat installs beside the layer, which the framework's `channelLayer()` holds. */
export type ChatRuntimeServices = Omit<ChatRuntime, 'layer'>;

const slot = processSlot<ChatRuntimeServices>('chat');

/** Called once by the chat's services when they are up (the layer is installed by the Next adapter). */
export function installChatRuntime(runtime: ChatRuntimeServices): void {
  slot.install(runtime);
}

export function uninstallChatRuntime(): void {
  slot.uninstall();
}

/**
 * The one way from Next route handlers and server actions to the live chat (its layer, store and
 * sessions), over the framework's per-process slots: Next bundles route code apart from
 * server.ts, so module variables would exist twice.
 *
 * ```ts
 * export async function POST(request: Request) {
 *   await chatRuntime().service.post('lobby', SYSTEM_USER, 'Deploying in 5 minutes');
 * }
 * ```
 */
export function chatRuntime(): ChatRuntime {
  const services = slot.get();
  return {
    get service() {
      return services.service;
    },
    layer: channelLayer().layer,
    sessions: services.sessions,
    allowedOrigins: services.allowedOrigins,
    adminToken: services.adminToken,
    accounts: services.accounts,
    rooms: services.rooms,
    access: services.access,
    search: services.search,
    tickets: services.tickets,
  };
}

/** The account, room and access services over a store, as the runtime holds them. */
export interface AccessServices {
  readonly accounts: Accounts;
  readonly rooms: Rooms;
  readonly access: RoomAccess;
  readonly search: MessageSearch;
  readonly tickets: WebsocketTickets;
}

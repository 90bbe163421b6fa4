import { type AllowedOrigins, type ChannelLayer, processSlot, type SessionCookies } from '../channels';
import type { ChatService } from './chat-service';

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
}

const slot = processSlot<ChatRuntime>('chat');

/** Called once by server.ts when the services are up. */
export function installChatRuntime(runtime: ChatRuntime): void {
  slot.install(runtime);
}

export function uninstallChatRuntime(): void {
  slot.uninstall();
}

/**
 * The one way from Next route handlers and server actions to the live chat (its layer, store and
 * sessions). Next bundles route code apart from server.ts, so this reads a per-process slot
 * rather than a module variable.
 *
 * ```ts
 * export async function POST(request: Request) {
 *   await chatRuntime().service.post('lobby', SYSTEM_USER, 'Deploying in 5 minutes');
 * }
 * ```
 */
export function chatRuntime(): ChatRuntime {
  return slot.get();
}

/**
 * For tests: the chat's routes and consumers over a memory store, an in-memory layer and a clock
 * the test moves, with cheap password hashing. What the access and account tests share.
 */
import { AllowedOrigins, InMemoryChannelLayer, SessionCookies, silentLogger } from 'next-channels';
import { accessServices } from './access-services';
import { ChatService } from './chat-service';
import { TEST_HASHER } from './passwords';
import { chatApplication } from './routing';
import type { ChatRuntime } from './runtime';
import { MemoryMessageStore } from './store/memory';

/** The origin the world's pages and sockets come from. */
export const TEST_ORIGIN = 'http://localhost:3000';

export function chatWorld(options: { readonly adminToken?: string | null; readonly readIntervalMs?: number } = {}) {
  let clock = 1_700_000_000_000;
  const now = () => clock;
  const layer = new InMemoryChannelLayer();
  const store = new MemoryMessageStore({ now });
  const sessions = new SessionCookies({ secret: 'chat-world-test-secret-0123456789abcdef', revocations: store, revocationCacheMs: 0, now });
  const allowedOrigins = AllowedOrigins.localDefaults(3000);
  const service = new ChatService({ store, layer, logger: silentLogger, now });
  const access = accessServices({ store, sessions, access: service.access, hasher: TEST_HASHER, now });
  const chat: ChatRuntime = { service, layer, sessions, allowedOrigins, adminToken: options.adminToken ?? null, ...access };
  const app = chatApplication({
    service,
    sessions,
    allowedOrigins,
    quotas: null,
    maxFrameBytes: 65_536,
    tickets: chat.tickets,
    ...(options.readIntervalMs === undefined ? {} : { readIntervalMs: options.readIntervalMs }),
  });
  return {
    chat,
    app,
    layer,
    store,
    sessions,
    /** Moves the clock of the store, the sessions and the limits. */
    advance(ms: number): void {
      clock += ms;
    },
  };
}

/** The `name=value` part of a Set-Cookie header: what a browser sends back. */
export function cookieOf(setCookie: string): string {
  return setCookie.slice(0, setCookie.indexOf(';'));
}

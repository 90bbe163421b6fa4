/**
 * The chat application on a real socket server (no Next.js), with test-sized timers and limits:
 * for tests that need real frames (binary, invalid UTF-8, stalled readers, dead peers) without
 * starting the whole app.
 */
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  AllowedOrigins,
  type Application,
  InMemoryChannelLayer,
  InMemoryPresence,
  type RateLimit,
  SessionCookies,
  silentLogger,
  SocketServer,
  type SocketServerOptions,
} from 'next-channels';
import { PrometheusMetrics } from 'next-channels/prometheus';
import { ChatService } from '../chat/chat-service';
import { checkSessionUser } from '../chat/identity';
import { ChatMetrics } from '../chat/metrics';
import { roomParticipants } from '../chat/presence';
import { type ChatApplicationOptions, chatApplication } from '../chat/routing';
import { ChatQuotas } from '../chat/quotas';
import { MemoryMessageStore } from '../chat/store/memory';
import type { MessageStore } from '../chat/store/types';

export const TEST_SESSION_SECRET = 'chat-server-test-secret-0123456789ab';

export interface ChatServerOptions extends Partial<Omit<SocketServerOptions, 'application' | 'layer' | 'presence' | 'logger' | 'metrics'>> {
  /** The message limit the quotas derive from (default none: no limits at all). */
  readonly rateLimit?: RateLimit | null;
  /** Quotas of their own (default: derived from `rateLimit`). */
  readonly quotas?: ChatQuotas | null;
  /** The store to serve from (a fresh memory store by default): a test can slow it down. */
  readonly store?: MessageStore;
  /** Events a consumer's channel holds undelivered (the layer's default by default). */
  readonly layerCapacity?: number;
  /** How often a room's watchers may hear a new presence list (default 0: every change, at once). */
  readonly presenceChangeIntervalMs?: number;
  /** Builds the application from the chat's parts (default: the chat's own routing). */
  readonly routing?: (options: ChatApplicationOptions) => Application;
}

export interface ChatServer {
  readonly url: string;
  readonly origin: string;
  readonly store: MessageStore;
  readonly sessions: SessionCookies;
  readonly metrics: PrometheusMetrics;
  close(): Promise<void>;
}

export async function startChatServer(options: ChatServerOptions = {}): Promise<ChatServer> {
  const {
    rateLimit = null,
    quotas = rateLimit ? new ChatQuotas({ messages: rateLimit }) : null,
    store = new MemoryMessageStore(),
    layerCapacity,
    routing = chatApplication,
    presenceChangeIntervalMs = 0,
    ...transport
  } = options;
  const presence = new InMemoryPresence({ changeIntervalMs: presenceChangeIntervalMs });
  const layer = new InMemoryChannelLayer(layerCapacity === undefined ? {} : { capacity: layerCapacity });
  const sessions = new SessionCookies({ secret: TEST_SESSION_SECRET, revocations: store, checkUser: checkSessionUser });
  const metrics = new PrometheusMetrics();
  const chatMetrics = new ChatMetrics(metrics.registry);
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  const origin = `http://localhost:${port}`;
  const sockets = new SocketServer({
    application: routing({
      service: new ChatService({
        store,
        layer,
        logger: silentLogger,
        metrics: chatMetrics,
        participants: roomParticipants(presence),
      }),
      metrics: chatMetrics,
      sessions,
      allowedOrigins: new AllowedOrigins([origin]),
      quotas,
      maxFrameBytes: transport.maxPayloadBytes ?? 65_536,
    }),
    layer,
    presence,
    logger: silentLogger,
    metrics,
    ...transport,
  });
  server.on('upgrade', (req, socket, head: Buffer) => sockets.handleUpgrade(req, socket, head));
  server.on('request', (req, res) => {
    if (!sockets.handleHttp(req, res)) res.writeHead(404).end();
  });
  return {
    url: `ws://127.0.0.1:${port}`,
    origin,
    store,
    sessions,
    metrics,
    async close() {
      await sockets.shutdown();
      server.closeAllConnections();
      server.close();
      await layer.close();
    },
  };
}

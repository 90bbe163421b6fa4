/**
 * The composition root: reads the configuration, builds the store, channel layer, chat
 * application and Next.js, serves them from one HTTP server, and shuts down on a signal.
 * Logic lives in lib/; this file only wires.
 *
 * In development, code changes apply without restarting Next.js (so pages keep their state and
 * their hot reload): the chat's routing, consumers and service (lib/chat/app.ts and what only it
 * loads) reload in place and open connections move to the new code; a change to anything loaded
 * before them (this file, the transport, the layer, the stores) runs this file again in the same
 * process, keeping the HTTP server and Next.js, and the pages' chat sockets reconnect and resume.
 */
import { EventEmitter } from 'node:events';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import next from 'next';
import {
  type Application,
  CloseCode,
  createGuardedServer,
  createLogger,
  HotReloader,
  processSlot,
  refuseUpgrade,
  SessionCookies,
  SocketServer,
  trackLiveConsumers,
  TransportMetrics,
  upgradeLiveConsumers,
} from './lib/channels';
// Only what must outlive a reload is imported here; lib/chat/app.ts is loaded below.
import type * as ChatApp from './lib/chat/app';
import { openBackends } from './lib/chat/backends';
import { ConfigError, frameworkEnvironment, loadConfig, resolveSessionSecret, type ServerConfig } from './lib/chat/config';
import { hideNextHeaders } from './lib/chat/hide-next-headers';
import { checkSessionUser, newGuest } from './lib/chat/identity';
import { ChatMetrics } from './lib/chat/metrics';
import { handleOpsRequest } from './lib/chat/ops-routes';
import { ChatQuotas } from './lib/chat/quotas';
import { screenRequest } from './lib/chat/request-screen';
import { SecurityHeaders } from './lib/chat/security-headers';
import { RoomHeads } from './lib/chat/room-heads';
import { ReadPacer } from './lib/chat/store/read-pacer';
import { installChatRuntime } from './lib/chat/runtime';
import { discardUnreadBody } from './lib/chat/unread-body';

const MAX_FRAME_BYTES = 64 * 1024;
/** The exit code that asks the dev supervisor (scripts/dev.ts) for a fresh process. */
const RESTART_EXIT_CODE = 75;
// Compiled, this file runs from dist/; under tsx, from the project root.
const projectRoot = path.basename(__dirname) === 'dist' ? path.dirname(__dirname) : __dirname;

interface Handlers {
  readonly request: (req: IncomingMessage, res: ServerResponse) => void;
  readonly upgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
}

/**
 * The HTTP server and Next.js, which a development restart of this file keeps. The server's
 * listeners stay for its whole life and pass each request to the current `handlers`: between two
 * runs of this file there are none, and requests are answered 503 (clients retry) rather than
 * left hanging.
 */
interface Web {
  readonly server: Server;
  readonly app: ReturnType<typeof next>;
  readonly handle: ReturnType<ReturnType<typeof next>['getRequestHandler']>;
  readonly nextUpgrades: EventEmitter;
  handlers: Handlers | null;
}
const devWeb = processSlot<Web>('dev-web');

async function main(): Promise<void> {
  let config: ServerConfig;
  try {
    config = loadConfig(process.env, projectRoot);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`configuration error: ${error.message}\n`);
    process.exit(1);
  }
  Object.assign(process.env, frameworkEnvironment(config, process.env));
  const logger = createLogger(config.logLevel);

  const secret = await resolveSessionSecret(config);
  const backends = await openBackends(config, { logger }).catch((error: unknown) => {
    process.stderr.write(`startup error: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
  const { store, layer, presence } = backends;
  // Ended sessions live in the message store's database, which every process shares.
  const sessions = new SessionCookies({ secret, secure: config.secureCookies, revocations: store, checkUser: checkSessionUser });
  const metrics = new TransportMetrics();
  metrics.collectProcessMetrics();
  const chatMetrics = new ChatMetrics(metrics.registry);

  // The rooms' newest ids from the store: connections fill any gap on their open sockets.
  const heads = new RoomHeads(store, { logger });
  const live = {
    presence,
    metrics: chatMetrics,
    sessions,
    allowedOrigins: config.allowedOrigins,
    quotas: config.rateLimit ? new ChatQuotas({ messages: config.rateLimit }) : null,
    reads: new ReadPacer(),
    heads,
    maxFrameBytes: MAX_FRAME_BYTES,
    store,
    layer,
    logger,
  } as ChatApp.LiveChat; // `service` is set by each generation of lib/chat/app.ts
  let application: Application;
  const chatModule = path.join(__dirname, 'lib', 'chat', 'app');
  let reloader: HotReloader<typeof ChatApp> | null = null;
  let restart: (file: string) => void = () => {};
  if (config.dev) {
    trackLiveConsumers();
    reloader = new HotReloader<typeof ChatApp>({
      entry: chatModule,
      watch: [path.join(__dirname, 'lib'), __filename],
      logger,
      loaded: (chat, report) => {
        application = chat.buildChatApplication(live);
        const moved = upgradeLiveConsumers(chat.liveConsumerClasses);
        logger.info('server code reloaded', { ms: report.ms, files: report.files.map((file) => path.relative(projectRoot, file)), connectionsMoved: moved });
      },
      restartNeeded: (file) => restart(file),
    });
    application = reloader.start().buildChatApplication(live);
  } else {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the same module the reloader loads in development
    application = (require(chatModule) as typeof ChatApp).buildChatApplication(live);
  }

  const sockets = new SocketServer({
    application: (scope, connection, env) => application(scope, connection, env),
    layer,
    logger,
    maxPayloadBytes: MAX_FRAME_BYTES,
    maxConnectionsPerAddress: config.maxConnectionsPerIp,
    trustProxy: config.trustProxy,
    metrics,
  });
  installChatRuntime({
    get service() {
      return live.service;
    },
    layer,
    sessions,
    allowedOrigins: config.allowedOrigins,
    adminToken: config.adminToken,
  });

  const kept = config.dev ? devWeb.peek() : undefined;
  const web = kept ?? (await startWeb(config, metrics));
  if (config.dev) devWeb.install(web);
  const ops = { store, layer, registry: metrics.registry, publicUrl: config.publicUrl };
  const securityHeaders = new SecurityHeaders({ dev: config.dev, publicUrl: config.publicUrl });
  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    discardUnreadBody(req, res);
    if (handleOpsRequest(req, res, ops)) return;
    if (screenRequest(req, res, logger)) return;
    if (!config.dev) hideNextHeaders(req, res);
    securityHeaders.apply(req, res);
    // Pages get a session; Next's assets and the API routes (which answer 401 without one) do not.
    const url = req.url ?? '/';
    const session = url.startsWith('/_next/') || url.startsWith('/api/') ? Promise.resolve() : sessions.ensure(req, res, newGuest);
    session.then(() => web.handle(req, res)).catch((error: unknown) => {
      logger.error('request failed', { url: req.url, error });
      if (!res.headersSent) res.writeHead(500).end();
    });
  };
  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const url = req.url ?? '/';
    // Next's only socket is its development hot reload: in production /_next/ is a 404 like any path.
    const nextHotReload = config.dev && url.startsWith('/_next/');
    if (url.startsWith('/ws/')) sockets.handleUpgrade(req, socket, head);
    else if (nextHotReload && web.nextUpgrades.listenerCount('upgrade') > 0) web.nextUpgrades.emit('upgrade', req, socket, head);
    else if (nextHotReload) refuseUpgrade(socket, 503, 'Next.js is still starting');
    else refuseUpgrade(socket, 404, 'no WebSocket endpoint here');
  };
  web.handlers = { request: onRequest, upgrade: onUpgrade };

  if (!kept) {
    await new Promise<void>((resolve, reject) => {
      web.server.once('error', reject);
      web.server.listen(config.port, config.host, () => resolve());
    });
  }
  const address = web.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.port;
  // Next sets up its hot-reload listener on the first request it handles: make one (a cheap one,
  // under /_next/) before saying we listen, so a browser's hot-reload socket is never refused.
  if (config.dev && !kept) {
    await fetch(`http://127.0.0.1:${port}/_next/static/warm-up`).then(
      (response) => response.body?.cancel(),
      (error: unknown) => logger.warn('warm-up request failed', { error }),
    );
  }
  logger.info('listening', { url: `http://localhost:${port}`, mode: config.dev ? 'development' : 'production' });

  /** Closes every socket with 1001 and the services; the HTTP server and Next stay (dev restart). */
  const closeChannels = async (): Promise<void> => {
    reloader?.close();
    web.handlers = null;
    await sockets.shutdown(CloseCode.GoingAway);
    heads.close();
    await backends.close();
  };

  let stopping = false;
  let stoppingSince = 0;
  // Under the dev supervisor a Ctrl+C reaches this process twice (from the terminal and passed on
  // by the supervisor): that is one request to stop, not a second one.
  const sameSignalMs = process.env.DEV_SUPERVISOR === '1' ? 500 : 0;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      if (Date.now() - stoppingSince < sameSignalMs) return;
      logger.warn('second signal, exiting at once', { signal });
      process.exit(1);
    }
    stopping = true;
    stoppingSince = Date.now();
    logger.info('shutting down', { signal, connections: sockets.connectionCount });
    web.server.close();
    void closeChannels()
      .then(async () => {
        web.server.closeAllConnections();
        await web.app.close();
        logger.info('stopped');
        process.exit(0);
      })
      .catch((error: unknown) => {
        logger.error('shutdown failed', { error });
        process.exit(1);
      });
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);

  restart = (file) => {
    if (stopping) return;
    stopping = true;
    logger.info('restarting the server code for a change that cannot be reloaded in place', { file: path.relative(projectRoot, file) });
    process.off('SIGTERM', stop);
    process.off('SIGINT', stop);
    void closeChannels()
      .then(() => {
        // Run this file again, from fresh modules, in the same process: Next keeps running.
        for (const loaded of Object.keys(require.cache)) {
          if (loaded.startsWith(projectRoot) && !loaded.includes(`${path.sep}node_modules${path.sep}`)) delete require.cache[loaded];
        }
        // eslint-disable-next-line @typescript-eslint/no-require-imports -- a restart in place goes through the require cache
        require(__filename);
      })
      .catch((error: unknown) => {
        logger.error('restart in place failed; asking for a new process', { error });
        process.exit(RESTART_EXIT_CODE);
      });
  };
}

/**
 * One HTTP server, and Next.js on it. Next attaches its own 'upgrade' listener to the server it is
 * given, and that listener ends sockets on app routes: a private emitter keeps it away from ours,
 * and only /_next/ (hot reload) upgrades are forwarded to it, so every socket has one owner.
 */
async function startWeb(config: ServerConfig, metrics: TransportMetrics): Promise<Web> {
  const nextUpgrades = new EventEmitter();
  const app = next({
    dev: config.dev,
    dir: projectRoot,
    hostname: config.host,
    port: config.port,
    httpServer: nextUpgrades as unknown as Server,
  });
  await app.prepare();
  // Timeouts that suit a chat, and a cap per address on sockets with no request in progress.
  const server = createGuardedServer({ maxIdleSocketsPerAddress: config.maxConnectionsPerIp, trustProxy: config.trustProxy, metrics });
  const web: Web = { server, app, handle: app.getRequestHandler(), nextUpgrades, handlers: null };
  web.server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (web.handlers) web.handlers.request(req, res);
    else res.writeHead(503, { 'retry-after': '1' }).end('restarting\n');
  });
  web.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (web.handlers) web.handlers.upgrade(req, socket, head);
    else refuseUpgrade(socket, 503, 'restarting');
  });
  return web;
}

main().catch((error: unknown) => {
  process.stderr.write(`failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  // Under the dev supervisor, a broken file gets a fresh process once it is fixed.
  process.exit(process.env.DEV_SUPERVISOR === '1' ? RESTART_EXIT_CODE : 1);
});

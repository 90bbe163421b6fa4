/**
 * The composition root: reads the configuration, builds the store, channel layer, chat
 * application and Next.js, serves them from one HTTP server, and shuts down on a signal.
 * Logic lives in lib/; this file only wires.
 *
 * In development the chat's routing, consumers and service (lib/chat/app.ts and what it alone
 * loads) reload on save, and open connections move to the new code; a change to anything loaded
 * before them (this file, the transport, the layer, the stores) restarts the process under the
 * dev supervisor (scripts/dev.ts), and the pages reconnect and resume.
 */
import { EventEmitter } from 'node:events';
import { createServer, type Server } from 'node:http';
import path from 'node:path';
import next from 'next';
import {
  type Application,
  CloseCode,
  createLogger,
  HotReloader,
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
import { ConfigError, loadConfig, resolveSessionSecret, type ServerConfig } from './lib/chat/config';
import { newGuest } from './lib/chat/identity';
import { ChatMetrics } from './lib/chat/metrics';
import { handleOpsRequest } from './lib/chat/ops-routes';
import { installChatRuntime } from './lib/chat/runtime';

const MAX_FRAME_BYTES = 64 * 1024;
/** The exit code that asks the dev supervisor for a restart. */
const RESTART_EXIT_CODE = 75;
// Compiled, this file runs from dist/; under tsx, from the project root.
const projectRoot = path.basename(__dirname) === 'dist' ? path.dirname(__dirname) : __dirname;

async function main(): Promise<void> {
  let config: ServerConfig;
  try {
    config = loadConfig(process.env, projectRoot);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`configuration error: ${error.message}\n`);
    process.exit(1);
  }
  const logger = createLogger(config.logLevel);

  const sessions = new SessionCookies({ secret: await resolveSessionSecret(config), secure: config.secureCookies });
  const backends = await openBackends(config, { logger }).catch((error: unknown) => {
    process.stderr.write(`startup error: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
  const { store, layer, presence } = backends;
  const metrics = new TransportMetrics();
  metrics.collectProcessMetrics();
  const chatMetrics = new ChatMetrics(metrics.registry);

  const live = {
    presence,
    metrics: chatMetrics,
    sessions,
    allowedOrigins: config.allowedOrigins,
    rateLimit: config.rateLimit,
    maxFrameBytes: MAX_FRAME_BYTES,
    store,
    layer,
    logger,
  } as ChatApp.LiveChat; // `service` is set by each generation of lib/chat/app.ts
  let application: Application = () => Promise.reject(new Error('the chat application is not loaded yet'));
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

  // Next attaches its own 'upgrade' listener to the server it is given, and that listener ends
  // sockets on app routes. A private emitter keeps it away from ours: only /_next/ (hot reload)
  // upgrades are forwarded to it, so every socket has exactly one owner.
  const nextUpgrades = new EventEmitter();
  const app = next({
    dev: config.dev,
    dir: projectRoot,
    hostname: config.host,
    port: config.port,
    httpServer: nextUpgrades as unknown as Server,
  });
  await app.prepare();
  const handle = app.getRequestHandler();

  const ops = { store, layer, registry: metrics.registry };
  const server = createServer((req, res) => {
    if (handleOpsRequest(req, res, ops)) return;
    if (!req.url?.startsWith('/_next/')) sessions.ensure(req, res, newGuest);
    handle(req, res).catch((error: unknown) => {
      logger.error('request failed', { url: req.url, error });
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  server.on('upgrade', (req, socket, head: Buffer) => {
    const url = req.url ?? '/';
    if (url.startsWith('/ws/')) sockets.handleUpgrade(req, socket, head);
    else if (url.startsWith('/_next/') && nextUpgrades.listenerCount('upgrade') > 0) nextUpgrades.emit('upgrade', req, socket, head);
    else if (url.startsWith('/_next/')) refuseUpgrade(socket, 503, 'Next.js is still starting');
    else refuseUpgrade(socket, 404, 'no WebSocket endpoint here');
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.port;
  logger.info('listening', { url: `http://localhost:${port}`, mode: config.dev ? 'development' : 'production' });
  // Next sets up its hot-reload listener on the first request it handles; make one now, so a
  // browser's hot-reload socket that arrives first is not refused.
  if (config.dev) {
    fetch(`http://127.0.0.1:${port}/`).then(
      (response) => response.body?.cancel(),
      (error: unknown) => logger.warn('warm-up request failed', { error }),
    );
  }

  let stopping = false;
  const stop = (signal: NodeJS.Signals | 'restart', exitCode = 0): void => {
    if (stopping) {
      logger.warn('second signal, exiting at once', { signal });
      process.exit(1);
    }
    stopping = true;
    logger.info('shutting down', { signal, connections: sockets.connectionCount });
    reloader?.close();
    server.close();
    void sockets
      .shutdown(CloseCode.GoingAway)
      .then(async () => {
        server.closeAllConnections();
        await Promise.allSettled([backends.close(), app.close()]);
        logger.info('stopped');
        process.exit(exitCode);
      })
      .catch((error: unknown) => {
        logger.error('shutdown failed', { error });
        process.exit(1);
      });
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  restart = (file) => {
    const relative = path.relative(projectRoot, file);
    if (process.env.DEV_SUPERVISOR !== '1') {
      logger.warn('this change needs a restart of the server (npm run dev restarts by itself)', { file: relative });
      return;
    }
    logger.info('restarting for a change that cannot be reloaded in place', { file: relative });
    stop('restart', RESTART_EXIT_CODE);
  };
}

main().catch((error: unknown) => {
  process.stderr.write(`failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});

/**
 * The composition root: reads the configuration, builds the store, channel layer, chat
 * application and Next.js, serves them from one HTTP server, and shuts down on a signal.
 * Logic lives in lib/; this file only wires.
 */
import { EventEmitter } from 'node:events';
import { createServer, type Server } from 'node:http';
import path from 'node:path';
import next from 'next';
import { CloseCode, createLogger, refuseUpgrade, SessionCookies, SocketServer, TransportMetrics } from './lib/channels';
import { ChatMetrics, ChatService, chatApplication, handleOpsRequest, installChatRuntime, newGuest, openBackends } from './lib/chat';
import { ConfigError, loadConfig, resolveSessionSecret, type ServerConfig } from './lib/chat/config';

const MAX_FRAME_BYTES = 64 * 1024;
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
  const service = new ChatService({ store, layer, logger, metrics: chatMetrics });
  const sockets = new SocketServer({
    application: chatApplication({
      service,
      presence,
      metrics: chatMetrics,
      sessions,
      allowedOrigins: config.allowedOrigins,
      rateLimit: config.rateLimit,
      maxFrameBytes: MAX_FRAME_BYTES,
    }),
    layer,
    logger,
    maxPayloadBytes: MAX_FRAME_BYTES,
    maxConnectionsPerAddress: config.maxConnectionsPerIp,
    trustProxy: config.trustProxy,
    metrics,
  });
  installChatRuntime({ service, sessions, allowedOrigins: config.allowedOrigins, adminToken: config.adminToken });

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
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      logger.warn('second signal, exiting at once', { signal });
      process.exit(1);
    }
    stopping = true;
    logger.info('shutting down', { signal, connections: sockets.connectionCount });
    server.close();
    void sockets
      .shutdown(CloseCode.GoingAway)
      .then(async () => {
        server.closeAllConnections();
        await Promise.allSettled([backends.close(), app.close()]);
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
}

main().catch((error: unknown) => {
  process.stderr.write(`failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});

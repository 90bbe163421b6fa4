import { EventEmitter } from 'node:events';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import next from 'next';
import type { Application } from '../application';
import { CloseCode } from '../close-codes';
import { HotReloader } from '../dev/hot-reloader';
import { RESTART_EXIT_CODE } from '../dev/supervisor';
import { FlushPacer } from '../flush-pacer';
import { InMemoryChannelLayer } from '../layers/in-memory';
import type { ChannelLayer } from '../layers/types';
import { installChannelLayer, uninstallChannelLayer } from '../live-layer';
import { liveConsumerClassesIn, trackLiveConsumers, upgradeLiveConsumers } from '../live-consumers';
import { jsonLogger, type Logger } from '../logger';
import type { TransportMetrics } from '../metrics';
import { processSlot } from '../process-slot';
import { InMemoryPresence } from '../presence/in-memory';
import { installPresence, uninstallPresence } from '../presence/live-presence';
import type { PresenceTracker } from '../presence/types';
import { createGuardedServer, type HttpGuardOptions } from '../transport/http-guard';
import { refuseUpgrade } from '../transport/refuse-upgrade';
import { SocketServer, type SocketServerOptions } from '../transport/socket-server';

/**
 * An application that reloads in development: `module` is loaded (and, in development, reloaded
 * on every change to it or to what it alone imports) and `build` turns its exports into the
 * application. Make one with {@link reloadable}.
 */
export interface ReloadableApplication {
  /** The module's absolute path. */
  readonly module: string;
  /** Makes the application from the module's exports, on each load. */
  readonly build: (exports: unknown) => Application;
  /** Folders and files watched for changes (default: the module's folder). */
  readonly watch?: readonly string[];
}

/**
 * An application built from a module that reloads in place in development: open connections
 * move onto the new consumer classes (exported ones, found by name), without a disconnect.
 *
 * @param module an absolute path (`require.resolve('./channels/routing')` or `path.join(__dirname, ...)`).
 * @param build makes the application from the module's exports, on each load.
 * @example
 * ```ts
 * import type * as Routing from './channels/routing';
 * serveNext({ application: reloadable<typeof Routing>(require.resolve('./channels/routing'), (routing) => routing.application) });
 * ```
 */
export function reloadable<M>(module: string, build: (exports: M) => Application, watch?: readonly string[]): ReloadableApplication {
  return { module, build: build as (exports: unknown) => Application, ...(watch ? { watch } : {}) };
}

/** How {@link serveNext} serves a Next app and its consumers. */
export interface ServeNextOptions {
  /** The app's WebSocket application (routing and middleware), or one that reloads in development. */
  readonly application: Application | ReloadableApplication;
  /** The channel layer (default: in memory, for one process). `channelLayer()` returns it. */
  readonly layer?: ChannelLayer;
  /**
   * Who is present in each group (default: in memory, for one process); `livePresence()`
   * returns it. Pass a `RedisPresence` with a Redis layer, and close it in `onShutdown`.
   */
  readonly presence?: PresenceTracker;
  /** Development mode: Next's dev server, and server code hot reload (default: `NODE_ENV !== 'production'`). */
  readonly dev?: boolean;
  /** The Next project's folder (default: the working folder). */
  readonly dir?: string;
  /** Default: `PORT`, or 3000. 0 picks a free port. */
  readonly port?: number;
  /** Default: `HOSTNAME`, or every interface. */
  readonly hostname?: string;
  /**
   * Upgrade requests whose path starts with one of these go to the application, which answers
   * 404 for a path it has no route for (default: every path but Next's `/_next/`); so do the
   * HTTP fallback's requests (`?_channels=`) on these paths.
   */
  readonly webSocketPaths?: readonly string[];
  /**
   * Runs before Next on every HTTP request: answer it and return `true`, or return `false` to
   * let Next answer it. A rejection is logged and answered 500.
   */
  readonly onRequest?: (req: IncomingMessage, res: ServerResponse) => boolean | Promise<boolean>;
  /** Runs on shutdown once every socket is closed: close your stores and layers here. */
  readonly onShutdown?: () => Promise<void>;
  /** Stop on SIGINT and SIGTERM: 1001 to every socket, drain, exit 0; a second signal exits 1 at once (default true). */
  readonly handleSignals?: boolean;
  /** The logger of the adapter, the transport and the consumers (default: `jsonLogger()`, JSON lines on stdout). */
  readonly logger?: Logger;
  /** Where the transport counts connections, frames and closes (default: nowhere); see `PrometheusMetrics`. */
  readonly metrics?: TransportMetrics;
  /** The process's write pacer; pass the one your Redis layer has (default: a new one). */
  readonly pacer?: FlushPacer;
  /** Limits of the WebSocket transport (see `SocketServerOptions`). */
  readonly sockets?: Omit<SocketServerOptions, 'application' | 'layer' | 'presence' | 'logger' | 'pacer' | 'metrics'>;
  /** Limits of the HTTP server (see `createGuardedServer`). */
  readonly http?: Omit<HttpGuardOptions, 'metrics'>;
  /**
   * The server file, run again in place (Next keeps running) when a change cannot be reloaded
   * (default: the process's main script).
   */
  readonly serverFile?: string;
}

/** A running server, as {@link serveNext} returns it. */
export interface ChannelsNextServer {
  /** The HTTP server that Next and the sockets share. */
  readonly server: Server;
  /** The WebSocket side: `connectionCount`, and `shutdown` for a stop of your own. */
  readonly sockets: SocketServer;
  /** The port listened on (useful with `port: 0`). */
  readonly port: number;
  /** Closes every socket with 1001, runs `onShutdown`, and closes the HTTP server and Next. */
  close(): Promise<void>;
}

/** The HTTP server and Next, which a restart of the server file in place keeps (development). */
interface Web {
  readonly server: Server;
  readonly app: ReturnType<typeof next>;
  readonly handle: ReturnType<ReturnType<typeof next>['getRequestHandler']>;
  readonly nextUpgrades: EventEmitter;
  handlers: {
    readonly request: (req: IncomingMessage, res: ServerResponse) => void;
    readonly upgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
  } | null;
}
const keptWeb = processSlot<Web>('next-web');

/**
 * Serves a Next app and the app's consumers from one HTTP server: WebSocket upgrades on the
 * application's paths go to the consumers, `/_next/` upgrades to Next's hot reload in
 * development, and anything else is refused with 404; Next's own upgrade listener never sees an
 * app socket. In development it also reloads the application in place on a change (open
 * connections move to the new classes), restarts the server file in place, keeping Next, on a
 * change to anything else it loaded, and warms Next up before saying it listens.
 *
 * @example
 * ```ts
 * // server.ts
 * import { route, urlRouter } from 'next-channels';
 * import { serveNext } from 'next-channels/next';
 * import { EchoConsumer } from './channels/echo';
 *
 * void serveNext({ application: urlRouter([route('/ws/echo/', EchoConsumer)]) });
 * ```
 */
export async function serveNext(options: ServeNextOptions): Promise<ChannelsNextServer> {
  const dev = options.dev ?? process.env.NODE_ENV !== 'production';
  const dir = path.resolve(options.dir ?? process.cwd());
  const logger = options.logger ?? jsonLogger();
  const layer = options.layer ?? new InMemoryChannelLayer();
  const serverFile = options.serverFile ?? process.argv[1] ?? null;
  installChannelLayer(layer);
  const presence = options.presence ?? new InMemoryPresence();
  // One made here is closed here; one passed in is the app's to close.
  const ownPresence = options.presence ? null : presence;
  installPresence(presence);

  let application: Application;
  let reloader: HotReloader<unknown> | null = null;
  let restart: (file: string) => void = () => {};
  const source = options.application;
  if (typeof source === 'function') {
    application = source;
  } else if (dev) {
    trackLiveConsumers();
    reloader = new HotReloader<unknown>({
      entry: source.module,
      watch: source.watch ?? [path.dirname(source.module)],
      logger,
      loaded: (exports, report) => {
        application = source.build(exports);
        const moved = upgradeLiveConsumers(liveConsumerClassesIn(report.modules));
        logger.info('server code reloaded', { ms: report.ms, files: report.files.map((file) => path.relative(dir, file)), connectionsMoved: moved });
      },
      restartNeeded: (file) => restart(file),
    });
    application = source.build(reloader.start());
  } else {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the module the reloader loads in development
    application = source.build(require(source.module));
  }

  const sockets = new SocketServer({
    ...options.sockets,
    application: (scope, connection, env) => application(scope, connection, env),
    layer,
    presence,
    logger,
    pacer: options.pacer ?? new FlushPacer(),
    ...(options.metrics ? { metrics: options.metrics } : {}),
  });

  const kept = dev ? keptWeb.peek() : undefined;
  const port = options.port ?? Number(process.env.PORT ?? 3000);
  const hostname = options.hostname ?? process.env.HOSTNAME;
  const web = kept ?? (await startWeb({ dev, dir, port, hostname, http: options.http, metrics: options.metrics }));
  if (dev) keptWeb.install(web);

  const paths = options.webSocketPaths ?? null;
  const onRequest = options.onRequest;
  web.handlers = {
    request: (req, res) => {
      const failed = (error: unknown): void => {
        logger.error('request failed', { url: req.url, error });
        if (!res.headersSent) res.writeHead(500).end();
        else res.destroy();
      };
      const toNext = (handled: boolean): void => {
        if (!handled) web.handle(req, res).catch(failed);
      };
      // The HTTP fallback of the sockets (`?_channels=`) is the transport's, like an upgrade.
      const url = req.url ?? '/';
      if (!url.startsWith('/_next/') && (paths === null || paths.some((prefix) => url.startsWith(prefix))) && sockets.handleHttp(req, res)) return;
      // Called in the same turn as the request event: a hook that reads or discards the body
      // sees all of it.
      let handled: boolean | Promise<boolean>;
      try {
        handled = onRequest ? onRequest(req, res) : false;
      } catch (error) {
        failed(error);
        return;
      }
      if (typeof handled === 'boolean') toNext(handled);
      else handled.then(toNext, failed);
    },
    upgrade: (req, socket, head) => {
      const url = req.url ?? '/';
      if (url.startsWith('/_next/')) {
        // Next's only socket is its development hot reload: in production /_next/ is a 404 like any path.
        if (!dev) refuseUpgrade(socket, 404, 'no WebSocket endpoint here');
        else if (web.nextUpgrades.listenerCount('upgrade') > 0) web.nextUpgrades.emit('upgrade', req, socket, head);
        else refuseUpgrade(socket, 503, 'Next.js is still starting');
      } else if (paths === null || paths.some((prefix) => url.startsWith(prefix))) {
        sockets.handleUpgrade(req, socket, head);
      } else {
        refuseUpgrade(socket, 404, 'no WebSocket endpoint here');
      }
    },
  };

  if (!kept) {
    await new Promise<void>((resolve, reject) => {
      web.server.once('error', reject);
      const done = (): void => {
        web.server.off('error', reject);
        resolve();
      };
      if (hostname === undefined) web.server.listen(port, done);
      else web.server.listen(port, hostname, done);
    });
  }
  const address = web.server.address();
  const boundPort = typeof address === 'object' && address !== null ? address.port : port;
  // Next sets up its hot-reload listener on the first request it handles: make one (a cheap one,
  // under /_next/) before saying we listen, so a browser's hot-reload socket is never refused.
  if (dev && !kept) {
    await fetch(`http://127.0.0.1:${boundPort}/_next/static/warm-up`).then(
      (response) => response.body?.cancel(),
      (error: unknown) => logger.warn('warm-up request failed', { error }),
    );
  }
  logger.info('listening', { url: `http://localhost:${boundPort}`, mode: dev ? 'development' : 'production' });

  /** Closes every socket with 1001 and the app's services; the HTTP server and Next stay. */
  const closeChannels = async (): Promise<void> => {
    reloader?.close();
    web.handlers = null;
    await sockets.shutdown(CloseCode.GoingAway);
    await options.onShutdown?.();
    await ownPresence?.close();
    uninstallChannelLayer();
    uninstallPresence();
  };
  const close = async (): Promise<void> => {
    web.server.close();
    await closeChannels();
    web.server.closeAllConnections();
    await web.app.close();
    keptWeb.uninstall();
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
    close().then(
      () => {
        logger.info('stopped');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error('shutdown failed', { error });
        process.exit(1);
      },
    );
  };
  const handleSignals = options.handleSignals ?? true;
  if (handleSignals) {
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  }

  restart = (file) => {
    if (stopping) return;
    stopping = true;
    logger.info('restarting the server code for a change that cannot be reloaded in place', { file: path.relative(dir, file) });
    process.off('SIGTERM', stop);
    process.off('SIGINT', stop);
    // This package's own code cannot be run again in place (the kept server holds it): a new process.
    if (serverFile === null || file.startsWith(PACKAGE_ROOT)) {
      void closeChannels().finally(() => process.exit(RESTART_EXIT_CODE));
      return;
    }
    closeChannels()
      .then(() => {
        // Run the server file again, from fresh modules, in the same process: Next keeps running.
        for (const loaded of Object.keys(require.cache)) {
          if (loaded.startsWith(dir + path.sep) && !loaded.includes(`${path.sep}node_modules${path.sep}`) && !loaded.startsWith(PACKAGE_ROOT)) {
            delete require.cache[loaded];
          }
        }
        // eslint-disable-next-line @typescript-eslint/no-require-imports -- a restart in place goes through the require cache
        require(serverFile);
      })
      .catch((error: unknown) => {
        logger.error('restart in place failed; asking for a new process', { error });
        process.exit(RESTART_EXIT_CODE);
      });
  };

  return { server: web.server, sockets, port: boundPort, close };
}

/** This package's own files stay loaded across a restart in place (they hold no app code). */
const PACKAGE_ROOT = path.resolve(__dirname, '..', '..') + path.sep;

interface WebOptions {
  readonly dev: boolean;
  readonly dir: string;
  readonly port: number;
  readonly hostname: string | undefined;
  readonly http: Omit<HttpGuardOptions, 'metrics'> | undefined;
  readonly metrics: TransportMetrics | undefined;
}

/**
 * One HTTP server, and Next on it. Next attaches its own 'upgrade' listener to the server it is
 * given, and that listener ends sockets on app routes: a private emitter keeps it away from ours,
 * and only /_next/ upgrades are forwarded to it, so every socket has one owner.
 */
async function startWeb(options: WebOptions): Promise<Web> {
  const nextUpgrades = new EventEmitter();
  const app = next({
    dev: options.dev,
    dir: options.dir,
    port: options.port,
    ...(options.hostname === undefined ? {} : { hostname: options.hostname }),
    httpServer: nextUpgrades as unknown as Server,
  });
  await app.prepare();
  const server = createGuardedServer({ ...options.http, ...(options.metrics ? { metrics: options.metrics } : {}) });
  const web: Web = { server, app, handle: app.getRequestHandler(), nextUpgrades, handlers: null };
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (web.handlers) web.handlers.request(req, res);
    else res.writeHead(503, { 'retry-after': '1' }).end('restarting\n');
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (web.handlers) web.handlers.upgrade(req, socket, head);
    else refuseUpgrade(socket, 503, 'restarting');
  });
  return web;
}

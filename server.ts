/**
 * The composition root: reads the configuration, opens the chat's services, and serves the Next
 * app and the chat's consumers through next-channels' Next adapter. Logic lives in lib/.
 *
 * In development the project's routing (routing.ts) and what only it loads (the chat's consumers
 * and service) reload in place and open connections move to the new code; a change to anything
 * loaded before them (this file, the stores) runs this file again in the same process, keeping Next.
 */
import path from 'node:path';
import { FlushPacer } from 'next-channels';
import { RESTART_EXIT_CODE } from 'next-channels/dev';
import { reloadable, serveNext } from 'next-channels/next';
import { pinoLogger } from 'next-channels/pino';
import { ConfigError, frameworkEnvironment, loadConfig, type ServerConfig } from './lib/chat/config';
import { MAX_FRAME_BYTES, openChatServices } from './lib/chat/services';
// Only what must outlive a reload is imported here; routing.ts is loaded by the adapter.
import type * as Routing from './routing';

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
  Object.assign(process.env, frameworkEnvironment(config, process.env));
  const logger = pinoLogger(config.logLevel);
  // One write pacer for the process: socket writes, Redis publishes and PostgreSQL batches.
  const pacer = new FlushPacer();
  const chat = await openChatServices(config, { logger, pacer }).catch((error: unknown) => {
    process.stderr.write(`startup error: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
  const watch = [path.join(__dirname, 'lib'), path.join(__dirname, 'routing.ts'), __filename];
  await serveNext({
    application: reloadable<typeof Routing>(path.join(__dirname, 'routing'), (routing) => routing.websocketApplication(chat.live), watch),
    layer: chat.layer,
    presence: chat.presence,
    dev: config.dev,
    dir: projectRoot,
    port: config.port,
    hostname: config.host,
    webSocketPaths: ['/ws/'],
    onRequest: chat.onRequest,
    onShutdown: () => chat.close(),
    logger,
    metrics: chat.metrics,
    pacer,
    sockets: { maxPayloadBytes: MAX_FRAME_BYTES, maxConnectionsPerAddress: config.maxConnectionsPerIp, trustProxy: config.trustProxy },
    // Timeouts that suit a chat, and a cap per address on sockets with no request in progress.
    http: { maxIdleSocketsPerAddress: config.maxConnectionsPerIp, trustProxy: config.trustProxy },
    serverFile: __filename,
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  // Under the dev supervisor, a broken file gets a fresh process once it is fixed.
  process.exit(process.env.DEV_SUPERVISOR === '1' ? RESTART_EXIT_CODE : 1);
});

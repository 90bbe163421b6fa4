import path from 'node:path';
import { FlushPacer } from 'next-channels';
import { reloadable, serveNext } from 'next-channels/next';
import { RedisChannelLayer, RedisPresence } from 'next-channels/redis';
import type * as Routing from './routing';

async function main(): Promise<void> {
  // One write pacer for the process: socket writes and Redis publishes go out in the same flushes.
  const pacer = new FlushPacer();
  const url = process.env.REDIS_URL ?? 'redis://localhost:6379';
  const layer = await RedisChannelLayer.connect({ url, pacer });
  // Who is in each group, shared by every process (see Presence below).
  const presence = await RedisPresence.connect({ url });
  await serveNext({
    application: reloadable<typeof Routing>(path.join(__dirname, 'routing'), (routing) => routing.application, [
      __filename,
      path.join(__dirname, 'routing.ts'),
      path.join(__dirname, 'channels'),
    ]),
    layer,
    presence,
    pacer,
    // Once every socket is closed (on SIGTERM, or before a restart in place in development).
    onShutdown: async () => {
      await presence.close();
      await layer.close();
    },
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`could not start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});

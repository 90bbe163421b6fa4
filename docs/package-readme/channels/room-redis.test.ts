import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { FlushPacer } from 'next-channels';
import { RedisChannelLayer } from 'next-channels/redis';
import { WebsocketCommunicator } from 'next-channels/testing';
import { RedisServer } from '../../../lib/testing/engines';
import { application } from '../routing';

// The README's claim for several processes: the same routing and consumer, given a Redis layer
// per process (server-redis.ts), reach each other's clients.
let redis: RedisServer;
before(async () => {
  redis = await RedisServer.start();
});
after(async () => {
  await redis?.dispose();
});

it('passes a room message between two processes over Redis', async () => {
  const layers = await Promise.all(
    [1, 2].map(() => RedisChannelLayer.connect({ url: redis.url, prefix: 'readme-rooms', pacer: new FlushPacer() })),
  );
  after(() => Promise.all(layers.map((layer) => layer.close())));
  const page = { headers: { origin: `http://localhost:${process.env.PORT ?? 3000}` } };
  const [ana, bo] = layers.map((layer) => new WebsocketCommunicator(application, '/ws/rooms/across/', { ...page, layer }));
  for (const client of [ana!, bo!]) {
    assert.deepEqual(await client.connect(), { accepted: true });
    await client.receiveJson(); // the history
  }
  ana!.sendJson({ text: 'from the first process' });
  assert.deepEqual(await bo!.receiveJson({ timeoutMs: 5_000 }), { type: 'message', text: 'from the first process' });
  assert.deepEqual(await ana!.receiveJson(), { type: 'message', text: 'from the first process' });
  await ana!.disconnect();
  await bo!.disconnect();
});

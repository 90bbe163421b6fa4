import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { FlushPacer } from 'next-channels';
import { RedisChannelLayer, RedisPresence } from 'next-channels/redis';
import { WebsocketCommunicator } from 'next-channels/testing';
import { RedisServer } from '../../../lib/testing/engines';
import { application } from '../routing';

// The README's claims for several processes: the same routing and consumers, given a Redis layer
// and a Redis presence per process (server-redis.ts), reach each other's clients.
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

it('shows who is in a room to every process, and drops the people of a process that closes', async () => {
  const layers = await Promise.all([1, 2].map(() => RedisChannelLayer.connect({ url: redis.url, prefix: 'readme-here', pacer: new FlushPacer() })));
  const trackers = await Promise.all([1, 2].map(() => RedisPresence.connect({ url: redis.url, prefix: 'readme-here', changeIntervalMs: 0 })));
  after(() => Promise.all([...trackers.map((presence) => presence.close()), ...layers.map((layer) => layer.close())]));
  const page = { headers: { origin: `http://localhost:${process.env.PORT ?? 3000}` } };
  const [ana, bo] = ['Ana', 'Bo'].map(
    (name, index) => new WebsocketCommunicator(application, `/ws/here/across/?name=${name}`, { ...page, layer: layers[index]!, presence: trackers[index]! }),
  );
  assert.deepEqual(await ana!.connect(), { accepted: true });
  await ana!.receiveJson(); // the list: Ana alone
  assert.deepEqual(await bo!.connect(), { accepted: true });
  const list = await bo!.receiveJson<{ entries: Array<{ key: string }> }>();
  assert.deepEqual(list.entries.map((entry) => entry.key), ['Ana', 'Bo']);
  const joined = await ana!.receiveJson<{ joins: Array<{ key: string }> }>({ timeoutMs: 5_000 });
  assert.deepEqual(joined.joins.map((entry) => entry.key), ['Bo']);
  await trackers[1]!.close();
  assert.deepEqual(await ana!.receiveJson({ timeoutMs: 5_000 }), { $: 'presence_diff', group: 'room.across', joins: [], leaves: ['Bo'] });
  await ana!.disconnect();
});

/**
 * Two sites on one Redis (and on one Redis Cluster), told apart by their prefixes alone: each
 * runs a layer, presence and tickets with rooms of the same names, and neither hears, lists or
 * redeems anything of the other's; every key and channel in Redis starts with a site's prefix.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Redis from 'ioredis';
import { RedisCluster, RedisServer } from '../../../testing/engines';
import { WebsocketTickets } from '../auth';
import type { PresenceSnapshot } from '../presence/types';
import { RecordingReceiver } from '../testing/layer-conformance';
import type { RedisTarget } from './connection';
import { RedisChannelLayer } from './redis-layer';
import { RedisPresence } from './redis-presence';
import { RedisTickets } from './redis-tickets';

let redis: RedisServer;
let cluster: RedisCluster;
before(async () => {
  [redis, cluster] = await Promise.all([RedisServer.start(), RedisCluster.start()]);
});
after(async () => {
  await Promise.all([redis?.dispose(), cluster?.dispose()]);
});

/** What Redis holds now: every key, and every channel someone subscribes to (plain and sharded). */
interface Inventory {
  readonly keys: string[];
  readonly channels: string[];
}

const backends: ReadonlyArray<{ readonly name: string; target(): RedisTarget; inventory(): Promise<Inventory> }> = [
  {
    name: 'one Redis',
    target: () => ({ url: redis.url }),
    inventory: async () => {
      const raw = new Redis(redis.url);
      try {
        const [keys, channels] = await Promise.all([raw.keys('*'), raw.call('PUBSUB', 'CHANNELS', '*') as Promise<string[]>]);
        return { keys, channels };
      } finally {
        raw.disconnect();
      }
    },
  },
  {
    name: 'a Redis Cluster',
    target: () => ({ cluster: cluster.seeds }),
    inventory: async () => {
      const found: Inventory = { keys: [], channels: [] };
      for (const node of await cluster.primaries()) {
        found.keys.push(...((await cluster.command(node, 'KEYS', '*')) as string[]));
        found.channels.push(...((await cluster.command(node, 'PUBSUB', 'SHARDCHANNELS', '*')) as string[]));
        found.channels.push(...((await cluster.command(node, 'PUBSUB', 'CHANNELS', '*')) as string[]));
      }
      return found;
    },
  },
];

/** Resolves with the keys of the first list a watcher of `group` hears that satisfies `match`. */
function hears(presence: RedisPresence, group: string, match: (keys: string[]) => boolean): Promise<string[]> {
  return new Promise((resolve) => {
    const watcher = {
      presenceChanged(snapshot: PresenceSnapshot) {
        const keys = snapshot.entries.map((entry) => entry.key);
        if (!match(keys)) return;
        presence.unwatch(group, watcher);
        resolve(keys);
      },
    };
    presence.watch(group, watcher);
  });
}

for (const backend of backends) {
  describe(`two sites on ${backend.name}`, () => {
    it('keeps every message, presence entry, ticket, key and channel of a site under its own prefix', async () => {
      const closing: Array<() => Promise<void>> = [];
      try {
        const site = async (prefix: string) => {
          const target = { ...backend.target(), prefix };
          const layers = [await RedisChannelLayer.connect(target), await RedisChannelLayer.connect(target)] as const;
          const presence = [
            await RedisPresence.connect({ ...target, changeIntervalMs: 0 }),
            await RedisPresence.connect({ ...target, changeIntervalMs: 0 }),
          ] as const;
          const store = await RedisTickets.connect(target);
          const tickets = new WebsocketTickets({ store });
          closing.push(async () => {
            await Promise.all([...presence.map((one) => one.close()), ...layers.map((layer) => layer.close()), store.close()]);
          });
          const inbox = new RecordingReceiver();
          const channel = layers[1].newChannel();
          layers[1].attach(channel, inbox);
          await layers[1].groupAdd('chat.lobby', channel);
          return { layers, presence, tickets, inbox };
        };
        const a = await site('site-a');
        const b = await site('site-b');

        await a.layers[0].groupSend('chat.lobby', { type: 'test.from', site: 'a' });
        await b.layers[0].groupSend('chat.lobby', { type: 'test.from', site: 'b' });
        // Each site's second process hears its own site's message; a later one proves nothing else came.
        await a.layers[0].groupSend('chat.lobby', { type: 'test.marker' });
        await b.layers[0].groupSend('chat.lobby', { type: 'test.marker' });
        assert.deepEqual((await a.inbox.received(2)).map((m) => m.site ?? m.type), ['a', 'test.marker']);
        assert.deepEqual((await b.inbox.received(2)).map((m) => m.site ?? m.type), ['b', 'test.marker']);

        const seenOnA = hears(a.presence[1], 'chat.lobby', (list) => list.length > 0);
        const seenOnB = hears(b.presence[1], 'chat.lobby', (list) => list.length > 0);
        await a.presence[0].track('chat.lobby', 'ana', { name: 'Ana' }, 'a-1');
        await b.presence[0].track('chat.lobby', 'bo', { name: '波' }, 'b-1');
        assert.deepEqual(await seenOnA, ['ana']);
        assert.deepEqual(await seenOnB, ['bo']);

        const ticket = await a.tickets.issue({ user: { id: 'u_ana', name: 'Ana' } });
        assert.equal(await b.tickets.redeem(ticket), null, 'a ticket of one site is no good on the other');
        const kept = await a.tickets.issue({ user: { id: 'u_ana', name: 'Ana' } });

        const { keys, channels } = await backend.inventory();
        const foreign = [...keys, ...channels].filter((name) => !name.startsWith('site-a:') && !name.startsWith('site-b:'));
        assert.deepEqual(foreign, [], 'nothing outside the two prefixes');
        for (const prefix of ['site-a:', 'site-b:']) {
          assert.ok(keys.some((key) => key.startsWith(`${prefix}{presence:chat.lobby}`)), `${prefix} presence keys`);
          assert.ok(channels.includes(`${prefix}{g:chat.lobby}`), `${prefix} group channel`);
        }
        assert.ok(keys.some((key) => key.startsWith('site-a:ticket:')) && !keys.some((key) => key.startsWith('site-b:ticket:')));
        assert.deepEqual(await a.tickets.redeem(kept), { user: { id: 'u_ana', name: 'Ana' } });
      } finally {
        await Promise.all(closing.map((close) => close()));
      }
    });
  });
}

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { RedisCluster, RedisServer } from '../../../testing/engines';
import { WebsocketTickets } from '../auth';
import type { RedisTarget } from './connection';
import { RedisTickets } from './redis-tickets';

let redis: RedisServer;
let cluster: RedisCluster;
before(async () => {
  [redis, cluster] = await Promise.all([RedisServer.start(), RedisCluster.start()]);
});
after(async () => {
  await Promise.all([redis?.dispose(), cluster?.dispose()]);
});

/** Every case runs on one Redis and on a three-primary Redis Cluster. */
const backends: ReadonlyArray<{ readonly name: string; target(): RedisTarget; keys(pattern: string): Promise<Array<{ key: string; ttl: number }>> }> = [
  {
    name: 'one Redis',
    target: () => ({ url: redis.url }),
    keys: async (pattern) => {
      const raw = new Redis(redis.url);
      try {
        return await Promise.all((await raw.keys(pattern)).map(async (key) => ({ key, ttl: await raw.pttl(key) })));
      } finally {
        raw.disconnect();
      }
    },
  },
  {
    name: 'a Redis Cluster',
    target: () => ({ cluster: cluster.seeds }),
    keys: async (pattern) => {
      const found = [];
      for (const node of await cluster.primaries()) {
        for (const key of (await cluster.command(node, 'KEYS', pattern)) as string[]) found.push({ key, ttl: (await cluster.command(node, 'PTTL', key)) as number });
      }
      return found;
    },
  },
];

for (const backend of backends) {
  describe(`RedisTickets on ${backend.name}`, () => {
    const opened: RedisTickets[] = [];
    const open = async (prefix = 'site'): Promise<RedisTickets> => {
      const store = await RedisTickets.connect({ ...backend.target(), prefix });
      opened.push(store);
      return store;
    };
    after(async () => {
      await Promise.all(opened.map((store) => store.close()));
    });

    it('redeems in one process a ticket issued by another, once, whoever asks first', async () => {
      const [first, second] = [new WebsocketTickets({ store: await open() }), new WebsocketTickets({ store: await open() })];
      const someone = { user: { id: 'u_ana', name: '安娜' }, sessionId: 's-1' };
      const ticket = await first.issue(someone);
      const answers = await Promise.all([second.redeem(ticket), first.redeem(ticket), second.redeem(ticket)]);
      assert.deepEqual(answers.filter((answer) => answer !== null), [someone]);
    });

    it('leaves the expiry to Redis, keeps only hashes, and keeps sites under different prefixes apart', async () => {
      const short = new WebsocketTickets({ store: await open('expiring'), ttlMs: 5_000 });
      const ticket = await short.issue({ user: { id: 'u', name: 'U' } });
      const keys = await backend.keys('expiring:ticket:*');
      assert.equal(keys.length, 1);
      assert.ok(!keys[0]!.key.includes(ticket), 'the key is a hash of the ticket, not the ticket');
      assert.ok(keys[0]!.ttl > 0 && keys[0]!.ttl <= 5_000, `ttl ${keys[0]!.ttl}`);
      const otherSite = new WebsocketTickets({ store: await open('other') });
      assert.equal(await otherSite.redeem(ticket), null);
      assert.deepEqual(await short.redeem(ticket), { user: { id: 'u', name: 'U' } });
    });

  });
}

describe('RedisTickets, when Redis cannot be reached', () => {
  it('says when Redis cannot be reached', async () => {
    await assert.rejects(RedisTickets.connect({ url: 'redis://127.0.0.1:1', connectTimeoutMs: 200 }), /cannot reach Redis at redis:\/\/127\.0\.0\.1:1 for tickets/);
  });
});

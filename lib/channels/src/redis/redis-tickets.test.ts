import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { RedisServer } from '../../../testing/engines';
import { WebsocketTickets } from '../auth';
import { RedisTickets } from './redis-tickets';

describe('RedisTickets', () => {
  let redis: RedisServer | undefined;
  const opened: RedisTickets[] = [];
  const open = async (prefix = 'site'): Promise<RedisTickets> => {
    const store = await RedisTickets.connect({ url: redis!.url, prefix });
    opened.push(store);
    return store;
  };
  before(async () => {
    redis = await RedisServer.start();
  });
  after(async () => {
    await Promise.all(opened.map((store) => store.close()));
    await redis?.dispose();
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
    const raw = new Redis(redis!.url);
    try {
      const keys = await raw.keys('expiring:ticket:*');
      assert.equal(keys.length, 1);
      assert.ok(!keys[0]!.includes(ticket), 'the key is a hash of the ticket, not the ticket');
      const ttl = await raw.pttl(keys[0]!);
      assert.ok(ttl > 0 && ttl <= 5_000, `ttl ${ttl}`);
    } finally {
      raw.disconnect();
    }
    const otherSite = new WebsocketTickets({ store: await open('other') });
    assert.equal(await otherSite.redeem(ticket), null);
    assert.deepEqual(await short.redeem(ticket), { user: { id: 'u', name: 'U' } });
  });

  it('says when Redis cannot be reached', async () => {
    await assert.rejects(RedisTickets.connect({ url: 'redis://127.0.0.1:1', connectTimeoutMs: 200 }), /cannot reach Redis for tickets/);
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RedisCluster, RedisServer } from '../../../testing/engines';
import type { LogFields, Logger } from '../logger';
import type { PresenceSnapshot } from '../presence/types';
import type { RedisTarget } from './connection';
import { RedisPresence, type RedisPresenceOptions } from './redis-presence';

const ana = { name: 'Ana' };
const bo = { name: '波' };
const keys = (snapshot: PresenceSnapshot): string[] => snapshot.entries.map((entry) => entry.key);

/** Resolves with the keys of the first list a watcher of `group` hears that satisfies `match`. */
function hears(presence: RedisPresence, group: string, match: (keys: string[]) => boolean): Promise<string[]> {
  return new Promise((resolve) => {
    const watcher = {
      presenceChanged(snapshot: PresenceSnapshot) {
        if (!match(keys(snapshot))) return;
        presence.unwatch(group, watcher);
        resolve(keys(snapshot));
      },
    };
    presence.watch(group, watcher);
  });
}

/** A logger that lets a test wait for a line. */
class RecordingLogger implements Logger {
  readonly messages: string[] = [];
  #waiters: Array<{ readonly message: string; readonly resolve: () => void }> = [];
  debug = (): void => {};
  info = (message: string, _fields?: LogFields): void => this.#log(message);
  warn = (message: string, _fields?: LogFields): void => this.#log(message);
  error = (message: string, _fields?: LogFields): void => this.#log(message);

  logged(message: string): Promise<void> {
    if (this.messages.includes(message)) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ message, resolve }));
  }

  #log(message: string): void {
    this.messages.push(message);
    for (const waiter of this.#waiters.filter((waiter) => waiter.message === message)) waiter.resolve();
    this.#waiters = this.#waiters.filter((waiter) => waiter.message !== message);
  }
}

let redis: RedisServer;
let cluster: RedisCluster;
before(async () => {
  [redis, cluster] = await Promise.all([RedisServer.start(), RedisCluster.start()]);
});
after(async () => {
  await Promise.all([redis?.dispose(), cluster?.dispose()]);
});

/** Every case but the outage runs on one Redis and on a three-primary Redis Cluster. */
const backends: ReadonlyArray<{ readonly name: string; target(): RedisTarget }> = [
  { name: 'one Redis', target: () => ({ url: redis.url }) },
  { name: 'a Redis Cluster', target: () => ({ cluster: cluster.seeds }) },
];

for (const backend of backends) {
  describe(`RedisPresence on ${backend.name}`, () => {
    const opened: RedisPresence[] = [];
    let prefixes = 0;
    const open = async (prefix: string, options: Partial<RedisPresenceOptions> = {}): Promise<RedisPresence> => {
      const presence = await RedisPresence.connect({ ...backend.target(), prefix, changeIntervalMs: 0, ...options });
      opened.push(presence);
      return presence;
    };
    after(async () => {
      await Promise.all(opened.map((presence) => presence.close()));
    });

    it('shows keys tracked in any process, each key once', async () => {
      const prefix = `shared-${++prefixes}`;
      const [a, b] = [await open(prefix), await open(prefix)];
      const seenOnB = hears(b, 'lobby', (list) => list.length === 2);
      await a.track('lobby', 'ana', ana, 'a-1');
      await b.track('lobby', 'bo', bo, 'b-1');
      await b.track('lobby', 'ana', ana, 'b-2');
      assert.deepEqual(await seenOnB, ['ana', 'bo']);
      assert.deepEqual((await a.list('lobby')).entries, [
        { key: 'ana', meta: ana },
        { key: 'bo', meta: bo },
      ]);
      const gone = hears(b, 'lobby', (list) => list.length === 1);
      await a.untrack('lobby', 'ana', 'a-1');
      await b.untrack('lobby', 'bo', 'b-1');
      assert.deepEqual(await gone, ['ana'], 'ana is still here through her connection on b');
    });

    it('tells watchers the diff of a change in another process', async () => {
      const prefix = `diff-${++prefixes}`;
      const [a, b] = [await open(prefix), await open(prefix)];
      await a.track('lobby', 'ana', ana, 'a-1');
      await hears(b, 'lobby', (list) => list.length === 1);
      const update = new Promise<PresenceSnapshot & { joins: unknown; leaves: unknown }>((resolve) => {
        // The first join may still be on its way (heard once in the list, again as its own diff).
        const isNew = (join: { meta: unknown }): boolean => (join.meta as { name?: unknown }).name === 'Ana María';
        b.watch('lobby', { presenceChanged: (heard) => void (heard.joins.some(isNew) && resolve(heard)) });
      });
      await a.track('lobby', 'ana', { name: 'Ana María' }, 'a-2');
      const heard = await update;
      assert.deepEqual(heard.joins, [{ key: 'ana', meta: { name: 'Ana María' } }]);
      assert.deepEqual(heard.leaves, []);
    });

    it('reuses a list while nothing in Redis or here has changed, and makes a new one when something has', async () => {
      const prefix = `reuse-${++prefixes}`;
      const [a, b] = [await open(prefix), await open(prefix)];
      await a.track('lobby', 'ana', ana, 'a-1');
      await hears(b, 'lobby', (list) => list.length === 1);
      const first = await b.list('lobby');
      assert.equal((await b.list('lobby')).entries, first.entries, 'nothing changed: the same list');
      await b.track('lobby', 'bo', bo, 'b-1');
      assert.deepEqual(keys(await b.list('lobby')), ['ana', 'bo'], 'a local track is seen at once');
    });

    it('drops the keys of a process that died without a word, after the expiry', async () => {
      const prefix = `expiry-${++prefixes}`;
      const survivor = await open(prefix, { expiryMs: 600 });
      const doomed = await RedisPresence.connect({ ...backend.target(), prefix, expiryMs: 600, changeIntervalMs: 0 });
      await survivor.track('lobby', 'bo', bo, 's-1');
      const both = hears(survivor, 'lobby', (list) => list.length === 2);
      await doomed.track('lobby', 'ana', ana, 'd-1');
      await both;
      const started = Date.now();
      const expired = hears(survivor, 'lobby', (list) => list.length === 1);
      doomed.closeWithoutGoodbye();
      assert.deepEqual(await expired, ['bo']);
      assert.ok(Date.now() - started < 3_000, `gone after ${Date.now() - started} ms`);
    });

    it('removes its keys at once when it closes properly', async () => {
      const prefix = `goodbye-${++prefixes}`;
      const stays = await open(prefix);
      const leaves = await RedisPresence.connect({ ...backend.target(), prefix });
      try {
        await leaves.track('lobby', 'ana', ana, 'l-1');
        assert.deepEqual(await hears(stays, 'lobby', (list) => list.length === 1), ['ana']);
      } catch (error) {
        leaves.closeWithoutGoodbye();
        throw error;
      }
      const gone = hears(stays, 'lobby', (list) => list.length === 0);
      await leaves.close();
      assert.deepEqual(await gone, []);
    });

    it('keeps sites under different prefixes apart, though their groups have the same names', async () => {
      const [siteA, siteB] = [await open(`site-a-${++prefixes}`), await open(`site-b-${prefixes}`)];
      const otherA = await open(`site-a-${prefixes}`);
      await siteA.track('lobby', 'ana', ana, 'a-1');
      await siteB.track('lobby', 'bo', bo, 'b-1');
      assert.deepEqual(await hears(otherA, 'lobby', (list) => list.length > 0), ['ana']);
      assert.deepEqual(keys(await siteB.list('lobby')), ['bo']);
    });
  });
}

describe('RedisPresence on one Redis, when Redis goes away', () => {
  it('falls back to its own keys while Redis is away, logs the outage once, and writes them again when it is back', async () => {
    const own = await RedisServer.start();
    const logger = new RecordingLogger();
    const timeouts = { connectTimeoutMs: 200, commandTimeoutMs: 200, heartbeatMs: 50 };
    const presence = await RedisPresence.connect({ url: own.url, prefix: 'outage', changeIntervalMs: 0, expiryMs: 600, logger, ...timeouts });
    const other = await RedisPresence.connect({ url: own.url, prefix: 'outage', changeIntervalMs: 0, expiryMs: 600, ...timeouts });
    try {
      await other.track('lobby', 'bo', bo, 'o-1');
      await presence.track('lobby', 'ana', ana, 'p-1');
      assert.deepEqual(keys(await presence.list('lobby')), ['ana', 'bo']);
      await own.stop();
      await logger.logged('redis (presence) unreachable');
      await presence.track('lobby', 'cy', { name: 'Cy' }, 'p-2');
      assert.deepEqual(keys(await presence.list('lobby')), ['ana', 'cy'], 'only its own keys while Redis is away');
      // A fresh Redis: it lost everything, and the renewal after the return writes it all again.
      await own.start();
      await logger.logged('redis (presence) reachable again');
      assert.deepEqual(await hears(other, 'lobby', (list) => list.length === 3), ['ana', 'bo', 'cy']);
      assert.equal(logger.messages.filter((message) => message === 'redis (presence) unreachable').length, 1);
    } finally {
      await Promise.all([presence.close(), other.close()]);
      await own.dispose();
    }
  });
});

describe('RedisPresence on a Redis Cluster', () => {
  it('keeps each group on one shard, groups spread over the shards, with keys that expire', async () => {
    const presence = await RedisPresence.connect({ cluster: cluster.seeds, prefix: 'spread', changeIntervalMs: 0, expiryMs: 60_000 });
    const other = await RedisPresence.connect({ cluster: cluster.seeds, prefix: 'spread', changeIntervalMs: 0, expiryMs: 60_000 });
    try {
      const groups = Array.from({ length: 12 }, (_, n) => `chat.room-${n}`);
      for (const [n, group] of groups.entries()) {
        const written = hears(other, group, (list) => list.length === 1);
        await presence.track(group, 'ana', ana, `c-${n}`);
        presence.watch(group, { presenceChanged: () => {} });
        await written;
      }
      const primaries = await cluster.primaries();
      const perShard = await Promise.all(primaries.map(async (node) => (await cluster.command(node, 'KEYS', 'spread:*')) as string[]));
      assert.equal(perShard.flat().length, 2 * groups.length, 'a hash and an expiry set per group');
      assert.ok(perShard.filter((found) => found.length > 0).length >= 2, `keys per shard: ${perShard.map((found) => found.length).join(' / ')}`);
      for (const group of groups) {
        const owner = primaries.indexOf(await cluster.primaryOf(`spread:{presence:${group}}`));
        assert.ok(perShard[owner]!.includes(`spread:{presence:${group}}`) && perShard[owner]!.includes(`spread:{presence:${group}}:alive`), `${group}: both keys on its shard`);
        const ttl = (await cluster.command(primaries[owner]!, 'PTTL', `spread:{presence:${group}}`)) as number;
        assert.ok(ttl > 60_000 && ttl <= 120_000, `the hash expires (ttl ${ttl} ms)`);
      }
      const announced = await Promise.all(primaries.map(async (node) => (await cluster.command(node, 'PUBSUB', 'SHARDCHANNELS', 'spread:*')) as string[]));
      assert.equal(announced.flat().length, groups.length, 'one announcement channel per watched group, each on its shard');
    } finally {
      await Promise.all([presence.close(), other.close()]);
    }
  });
});

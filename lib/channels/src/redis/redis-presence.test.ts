import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RedisServer } from '../../../testing/engines';
import type { LogFields, Logger } from '../logger';
import type { PresenceSnapshot } from '../presence/types';
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

describe('RedisPresence', () => {
  let redis: RedisServer;
  const opened: RedisPresence[] = [];
  let prefixes = 0;
  const open = async (prefix: string, options: Partial<RedisPresenceOptions> = {}): Promise<RedisPresence> => {
    const presence = await RedisPresence.connect({ url: redis.url, prefix, changeIntervalMs: 0, ...options });
    opened.push(presence);
    return presence;
  };
  before(async () => {
    redis = await RedisServer.start();
  });
  after(async () => {
    await Promise.all(opened.map((presence) => presence.close()));
    await redis?.dispose();
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
      b.watch('lobby', { presenceChanged: (heard) => void (heard.joins.length > 0 && resolve(heard)) });
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
    const doomed = await RedisPresence.connect({ url: redis.url, prefix, expiryMs: 600, changeIntervalMs: 0 });
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
    const leaves = await RedisPresence.connect({ url: redis.url, prefix });
    await leaves.track('lobby', 'ana', ana, 'l-1');
    const gone = hears(stays, 'lobby', (list) => list.length === 0);
    assert.deepEqual(keys(await stays.list('lobby')), ['ana']);
    await leaves.close();
    assert.deepEqual(await gone, []);
  });

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

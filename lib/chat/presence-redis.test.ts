import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RedisServer } from '../testing/engines';
import type { PresenceSnapshot } from './presence';
import { RedisPresence } from './presence-redis';

const ana = { id: 'u_ana', name: 'Ana' };
const bo = { id: 'u_bo', name: '波' };
const names = (snapshot: PresenceSnapshot): string[] => snapshot.frame.users.map((user) => user.user);

/** Resolves with the first list a watcher hears that satisfies `match`. */
function hears(presence: RedisPresence, room: string, match: (names: string[]) => boolean): Promise<string[]> {
  return new Promise((resolve) => {
    const watcher = {
      roomPresenceChanged(snapshot: PresenceSnapshot) {
        if (!match(names(snapshot))) return;
        presence.unwatch(room, watcher);
        resolve(names(snapshot));
      },
    };
    presence.watch(room, watcher);
  });
}

describe('RedisPresence', () => {
  let redis: RedisServer;
  const opened: RedisPresence[] = [];
  let prefixes = 0;
  const open = async (prefix: string, expiryMs = 30_000): Promise<RedisPresence> => {
    const presence = await RedisPresence.connect({ url: redis.url, prefix, expiryMs });
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

  it('shows people connected to any process, each person once', async () => {
    const prefix = `shared-${++prefixes}`;
    const [a, b] = [await open(prefix), await open(prefix)];
    const seenOnB = hears(b, 'lobby', (list) => list.length === 2);
    await a.join('lobby', ana, 'a-1');
    await b.join('lobby', bo, 'b-1');
    await b.join('lobby', ana, 'b-2');
    assert.deepEqual(await seenOnB, ['Ana', '波']);
    assert.deepEqual(names(await a.list('lobby')), ['Ana', '波']);
    const gone = hears(b, 'lobby', (list) => list.length === 1);
    await a.leave('lobby', 'u_ana', 'a-1');
    await b.leave('lobby', 'u_bo', 'b-1');
    assert.deepEqual(await gone, ['Ana'], 'Ana is still here through her tab on b');
  });

  it('reuses a list while nothing in Redis or here has changed, and makes a new one when something has', async () => {
    const prefix = `reuse-${++prefixes}`;
    const [a, b] = [await open(prefix), await open(prefix)];
    await a.join('lobby', ana, 'a-1');
    const seenOnB = hears(b, 'lobby', (list) => list.length === 1);
    await seenOnB;
    const first = await b.list('lobby');
    assert.equal((await b.list('lobby')).frame, first.frame, 'nothing changed: the same list');
    await b.join('lobby', bo, 'b-1');
    assert.deepEqual(names(await b.list('lobby')), ['Ana', '波'], 'a local join is seen at once');
    const renamedOnB = hears(b, 'lobby', (list) => list.includes('Ana María'));
    await a.join('lobby', { id: 'u_ana', name: 'Ana María' }, 'a-2');
    assert.deepEqual(await renamedOnB, ['Ana María', '波'], 'a change in another process is seen');
  });

  it('drops the people of a process that died without a word, after the expiry', async () => {
    const prefix = `expiry-${++prefixes}`;
    const survivor = await open(prefix, 600);
    const doomed = await open(prefix, 600);
    await survivor.join('lobby', bo, 's-1');
    const both = hears(survivor, 'lobby', (list) => list.length === 2);
    await doomed.join('lobby', ana, 'd-1');
    await both;
    const started = Date.now();
    const expired = hears(survivor, 'lobby', (list) => list.length === 1);
    doomed.closeWithoutGoodbye();
    assert.deepEqual(await expired, ['波']);
    assert.ok(Date.now() - started < 3_000, `gone after ${Date.now() - started} ms`);
  });

  it('removes its people at once when it closes properly', async () => {
    const prefix = `goodbye-${++prefixes}`;
    const stays = await open(prefix);
    const leaves = await RedisPresence.connect({ url: redis.url, prefix });
    await leaves.join('lobby', ana, 'l-1');
    const gone = hears(stays, 'lobby', (list) => list.length === 0);
    assert.deepEqual(names(await stays.list('lobby')), ['Ana']);
    await leaves.close();
    assert.deepEqual(await gone, []);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidName, InvalidPresence } from '../errors';
import { InMemoryPresence } from './in-memory';
import { MAX_PRESENCE_KEY_LENGTH, MAX_PRESENCE_META_BYTES, type PresenceSnapshot, type PresenceUpdate } from './types';

const keys = (snapshot: PresenceSnapshot): string[] => snapshot.entries.map((entry) => entry.key);

/** A watcher that keeps what it hears. */
function recorder() {
  const heard: PresenceUpdate[] = [];
  return { heard, watcher: { presenceChanged: (update: PresenceUpdate) => void heard.push(update) } };
}

describe('InMemoryPresence', () => {
  it('counts a key once however many connections track it, until the last one untracks', async () => {
    const presence = new InMemoryPresence({ changeIntervalMs: 0 });
    const { heard, watcher } = recorder();
    presence.watch('room', watcher);
    await presence.track('room', 'ana', { name: 'Ana' }, 'tab-1');
    await presence.track('room', 'ana', { name: 'Ana' }, 'tab-2');
    await presence.track('room', 'bo', { name: '波' }, 'tab-3');
    assert.deepEqual(keys(await presence.list('room')), ['ana', 'bo']);
    await presence.untrack('room', 'ana', 'tab-1');
    await presence.untrack('room', 'ana', 'tab-2');
    await presence.untrack('room', 'ana', 'tab-2');
    assert.deepEqual(heard.map(keys), [['ana'], ['ana', 'bo'], ['bo']], 'watchers hear only changes');
    assert.deepEqual(keys(await presence.list('other')), []);
  });

  it('tells watchers what changed: joins with their meta, leaves by key, a new meta as a join', async () => {
    const presence = new InMemoryPresence({ changeIntervalMs: 0 });
    const { heard, watcher } = recorder();
    presence.watch('room', watcher);
    await presence.track('room', 'ana', { name: 'Ana' }, 'tab-1');
    await presence.track('room', 'bo', { name: '波' }, 'tab-2');
    await presence.track('room', 'ana', { name: 'Ana María' }, 'tab-3');
    await presence.untrack('room', 'bo', 'tab-2');
    const diffs = heard.map((update) => ({ base: update.base, joins: update.joins, leaves: update.leaves }));
    assert.deepEqual(diffs, [
      { base: -1, joins: [{ key: 'ana', meta: { name: 'Ana' } }], leaves: [] },
      { base: heard[0]!.version, joins: [{ key: 'bo', meta: { name: '波' } }], leaves: [] },
      { base: heard[1]!.version, joins: [{ key: 'ana', meta: { name: 'Ana María' } }], leaves: [] },
      { base: heard[2]!.version, joins: [], leaves: ['bo'] },
    ]);
    assert.deepEqual((await presence.list('room')).entries, [{ key: 'ana', meta: { name: 'Ana María' } }], 'the newest meta wins');
  });

  it('keeps the newest meta while an older connection of the key stays', async () => {
    const presence = new InMemoryPresence({ changeIntervalMs: 0 });
    await presence.track('room', 'ana', { status: 'away' }, 'tab-1');
    await presence.track('room', 'ana', { status: 'here' }, 'tab-2');
    await presence.untrack('room', 'ana', 'tab-2');
    assert.deepEqual((await presence.list('room')).entries, [{ key: 'ana', meta: { status: 'here' } }]);
  });

  it('tracking the same meta again is no change', async () => {
    const presence = new InMemoryPresence({ changeIntervalMs: 0 });
    const { heard, watcher } = recorder();
    presence.watch('room', watcher);
    await presence.track('room', 'ana', { name: 'Ana' }, 'tab-1');
    await presence.track('room', 'ana', { name: 'Ana' }, 'tab-2');
    assert.equal(heard.length, 1);
  });

  it('numbers lists so a watcher can keep the newest', async () => {
    const presence = new InMemoryPresence({ changeIntervalMs: 0 });
    const { heard, watcher } = recorder();
    presence.watch('room', watcher);
    await presence.track('room', 'ana', {}, 'tab-1');
    await presence.track('room', 'bo', {}, 'tab-2');
    assert.equal(heard.length, 2);
    assert.ok(heard[1]!.version > heard[0]!.version);
    assert.ok((await presence.list('room')).version >= heard[1]!.version);
  });

  it('stops telling a watcher that stopped watching, and keeps groups apart', async () => {
    const presence = new InMemoryPresence({ changeIntervalMs: 0 });
    const { heard, watcher } = recorder();
    presence.watch('room', watcher);
    await presence.track('room', 'ana', {}, 'tab-1');
    await presence.track('elsewhere', 'bo', {}, 'tab-2');
    presence.unwatch('room', watcher);
    await presence.track('room', 'bo', {}, 'tab-3');
    assert.equal(heard.length, 1);
  });

  it('tells watchers of a burst of changes at once, then once more with the end of the burst', async () => {
    const presence = new InMemoryPresence({ changeIntervalMs: 20 });
    const sizes: number[] = [];
    let burstHeard: () => void = () => {};
    const settled = new Promise<void>((resolve) => (burstHeard = resolve));
    presence.watch('room', {
      presenceChanged(update) {
        sizes.push(update.entries.length);
        if (update.entries.length === 50) burstHeard();
      },
    });
    for (let index = 0; index < 50; index++) await presence.track('room', `u${index}`, { name: `Person ${index}` }, `tab-${index}`);
    assert.deepEqual(sizes, [1], 'the first change at once, the rest wait for the interval');
    assert.equal((await presence.list('room')).entries.length, 50, 'someone tracking gets the list as it is');
    await settled;
    assert.deepEqual(sizes, [1, 50]);
    await presence.close();
  });

  it('sorts entries by key', async () => {
    const presence = new InMemoryPresence({ changeIntervalMs: 0 });
    for (const key of ['c', 'a', 'b']) await presence.track('room', key, {}, `tab-${key}`);
    assert.deepEqual(keys(await presence.list('room')), ['a', 'b', 'c']);
  });

  it('refuses a key or meta out of bounds, and a bad group name, with typed errors', async () => {
    const presence = new InMemoryPresence();
    await assert.rejects(presence.track('room', '', {}, 'c'), InvalidPresence);
    await assert.rejects(presence.track('room', 'k'.repeat(MAX_PRESENCE_KEY_LENGTH + 1), {}, 'c'), /invalid presence key: expected a string of 1 to 256/);
    await presence.track('room', 'k'.repeat(MAX_PRESENCE_KEY_LENGTH), {}, 'c');
    const big = { text: 'x'.repeat(MAX_PRESENCE_META_BYTES) };
    await assert.rejects(presence.track('room', 'ana', big, 'c'), (error: unknown) => error instanceof InvalidPresence && error.part === 'meta');
    await assert.rejects(presence.track('room', 'ana', [] as never, 'c'), /expected a JSON object, got an array/);
    await assert.rejects(presence.track('no spaces', 'ana', {}, 'c'), InvalidName);
    assert.deepEqual(keys(await presence.list('room')), ['k'.repeat(MAX_PRESENCE_KEY_LENGTH)]);
  });
});

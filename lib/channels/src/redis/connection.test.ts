import assert from 'node:assert/strict';
import { createHook } from 'node:async_hooks';
import { after, before, describe, it } from 'node:test';
import type { Cluster } from 'ioredis';
import { RedisCluster } from '../../../testing/engines';
import { openCommands } from './connection';

let cluster: RedisCluster;
before(async () => {
  cluster = await RedisCluster.start();
});
after(async () => {
  await cluster?.dispose();
});

interface Timer {
  hasRef(): boolean;
  /** Node's own field: the timer's delay. */
  readonly _idleTimeout: number;
}

/** The timers made from now on, still pending, that would keep the process alive, with their delays. */
function watchTimers(): { pending(): number[]; stop(): void } {
  const live = new Map<number, Timer>();
  const hook = createHook({
    init(id, type, _trigger, resource) {
      if (type === 'Timeout') live.set(id, resource as Timer);
    },
    destroy(id) {
      live.delete(id);
    },
  }).enable();
  return {
    pending: () => [...live.values()].filter((timer) => timer.hasRef()).map((timer) => timer._idleTimeout),
    stop: () => hook.disable(),
  };
}

/** Resolves on the first turn of the event loop where `condition` holds. */
async function turnWhen(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setImmediate(resolve));
}

/** The slot map's refresh interval here: a delay no other timer has. */
const REFRESH_MS = 7;

describe('openCommands on a Redis Cluster', () => {
  it('leaves no timer running once closed, even closed while the slot map is being read', async () => {
    const timers = watchTimers();
    const client = openCommands({ cluster: cluster.seeds }, { commandTimeoutMs: 2_000 }, 'test', REFRESH_MS) as Cluster;
    await client.connect();
    // ioredis's flag: a refresh of the slot map is under way.
    const refreshing = (): boolean => (client as unknown as { isRefreshing: boolean }).isRefreshing;
    await turnWhen(refreshing);
    const ended = new Promise((resolve) => client.once('end', resolve));
    client.disconnect();
    await ended;
    await turnWhen(() => !refreshing());
    timers.stop();
    // (ioredis's connections each wait up to 2 s for their socket to close: once, and then done.)
    assert.deepEqual(timers.pending().filter((delay) => delay === REFRESH_MS), [], 'no refresh of the slot map is left to come');
  });
});

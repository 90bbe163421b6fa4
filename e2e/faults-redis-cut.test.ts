/**
 * Redis silently cut from one of two app processes (every packet dropped, both ways), for 5 s and
 * for 30 s, with clients on both processes sending 8 messages/s each all along. Nothing
 * acknowledged may be missing or doubled anywhere afterwards; see e2e/support/fault-scenario.ts.
 */
import { after, before, describe, it } from 'node:test';
import { FaultCluster } from './support/fault-cluster';
import { heldFor, runScenario } from './support/fault-scenario';

describe('Redis cut from one process', () => {
  let cluster: FaultCluster;
  before(async () => {
    cluster = await FaultCluster.start();
  });
  after(async () => {
    await cluster?.dispose();
  });

  for (const seconds of [5, 30]) {
    it(`loses and doubles nothing when Redis is silently cut from app1 for ${seconds} s`, { timeout: 180_000 }, async (t) => {
      await runScenario(t, cluster, {
        name: `redis cut from app1 for ${seconds} s`,
        room: `redis-cut-${seconds}`,
        outage: { app: 'app1', dependency: 'redis' },
        localDelivery: true,
        fault: heldFor(seconds * 1_000, (each) => each.network.partition('app1', 'redis')),
      });
    });
  }
});

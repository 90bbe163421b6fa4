/**
 * PostgreSQL silently cut from one of two app processes (every packet dropped, both ways), for
 * 5 s and for 30 s, under traffic on both. Sends through the cut process must be refused with
 * `unavailable` (the clients send them again), never left hanging; nothing acknowledged may be
 * missing or doubled afterwards; see e2e/support/fault-scenario.ts.
 */
import { after, before, describe, it } from 'node:test';
import { FaultCluster } from './support/fault-cluster';
import { heldFor, runScenario } from './support/fault-scenario';

describe('PostgreSQL cut from one process', () => {
  let cluster: FaultCluster;
  before(async () => {
    cluster = await FaultCluster.start();
  });
  after(async () => {
    await cluster?.dispose();
  });

  for (const seconds of [5, 30]) {
    it(`loses and doubles nothing when PostgreSQL is silently cut from app1 for ${seconds} s`, { timeout: 180_000 }, async (t) => {
      await runScenario(t, cluster, {
        name: `postgres cut from app1 for ${seconds} s`,
        room: `pg-cut-${seconds}`,
        outage: { app: 'app1', dependency: 'postgres' },
        // Within the store's timeouts (seconds): a 5 s cut may end before the first refusal.
        ...(seconds >= 30 ? { refusesSends: 'app1' } : {}),
        fault: heldFor(seconds * 1_000, (each) => each.network.partition('app1', 'pg')),
      });
    });
  }
});

/**
 * A slow, lossy link between both app processes and Redis for 15 s: every chunk delayed 200 ms
 * each way (a proxy: this kernel has no netem) and 5% of the packets dropped each way, under
 * traffic on both processes. Nothing acknowledged may be missing or doubled afterwards.
 */
import { after, before, describe, it } from 'node:test';
import { FaultCluster } from './support/fault-cluster';
import { heldFor, runScenario } from './support/fault-scenario';

describe('a slow, lossy link to Redis', () => {
  let cluster: FaultCluster;
  before(async () => {
    cluster = await FaultCluster.start();
  });
  after(async () => {
    await cluster?.dispose();
  });

  it('loses and doubles nothing with 200 ms of delay and 5% loss between both processes and Redis for 15 s', { timeout: 180_000 }, async (t) => {
    await runScenario(t, cluster, {
      name: 'redis 200 ms delay and 5% loss for 15 s',
      room: 'slow-redis',
      localDelivery: true,
      fault: heldFor(15_000, async (each) => {
        await each.setRedisDelay(200);
        const loss = await each.network.loss('redis', ['app1', 'app2'], 0.05);
        return {
          description: `200 ms delay and ${loss.description}`,
          since: loss.since,
          heal: async () => {
            await loss.heal();
            await each.setRedisDelay(0);
          },
        };
      }),
    });
  });
});

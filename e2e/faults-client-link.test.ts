/**
 * One client's own link to its process down for 3 s (its address cut in the clients' namespace),
 * while every client sends: it notices the dead socket, reconnects with `?after=` and sends again
 * what was not acknowledged; nothing may be missing or doubled anywhere afterwards.
 */
import { after, before, describe, it } from 'node:test';
import { FaultCluster } from './support/fault-cluster';
import { heldFor, runScenario } from './support/fault-scenario';

describe("a client's own link down", () => {
  let cluster: FaultCluster;
  before(async () => {
    cluster = await FaultCluster.start();
  });
  after(async () => {
    await cluster?.dispose();
  });

  it('loses and doubles nothing when one client of app1 loses its link for 3 s', { timeout: 120_000 }, async (t) => {
    await runScenario(t, cluster, {
      name: "one client's link down for 3 s",
      room: 'client-link',
      fault: heldFor(3_000, (each) => each.network.partition('clients', 'app1', { local: each.clientAddress('app1', 0) })),
      extraChecks: (_cluster, _analysis, report) => {
        const cut = report.clients.find((client) => client.name === 'app1c0')!;
        // The driver's timers make a 3 s silence a dead socket: the resume is what is tested.
        return cut.connections.length > 1 ? [] : ['app1c0 never reconnected: the cut did not exercise a resume'];
      },
    });
  });
});

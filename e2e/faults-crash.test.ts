/**
 * A process killed (SIGKILL) after the store committed a message and before it was published,
 * made to happen every time: app1 is cut from Redis first, so its publishes cannot go out; once
 * one of its clients has the echo of a message first sent after the cut (committed, unpublished),
 * app1 is killed, the sockets it leaves in the kernel destroyed (they would send the publish once
 * the cut heals), the cut healed and app1 started again. The clients of app2, on sockets that
 * stay open, must get those messages; app1's clients reconnect and resume. Once with traffic
 * going on, once in a room that stays quiet after the kill.
 */
import { after, before, describe, it, type TestContext } from 'node:test';
import { FaultCluster } from './support/fault-cluster';
import { runScenario, type ScenarioSpec } from './support/fault-scenario';

describe('a process killed between commit and publish', () => {
  let cluster: FaultCluster;
  before(async () => {
    cluster = await FaultCluster.start();
  });
  after(async () => {
    await cluster?.dispose();
  });

  it("delivers what a killed process committed but never published to the other process's open sockets", { timeout: 150_000 }, async (t) => {
    await runScenario(t, cluster, crashBetweenCommitAndPublish(t, { quiet: false }));
  });

  it('does so in a quiet room too: nothing is sent after the kill', { timeout: 150_000 }, async (t) => {
    await runScenario(t, cluster, crashBetweenCommitAndPublish(t, { quiet: true }));
  });
});

/**
 * The crash, with traffic going on (later ids show app2's clients the gap), or `quiet`: every
 * client stops sending and has every echo before the kill, so that nothing newer ever reaches
 * app2's clients and only the room's head, learnt some other way, can show them what they lack.
 */
function crashBetweenCommitAndPublish(t: TestContext, { quiet }: { readonly quiet: boolean }): ScenarioSpec {
  let cutAt = 0;
  let killedAt = 0;
  return {
    name: `app1 killed between commit and publish${quiet ? ', then a quiet room' : ''}`,
    room: quiet ? 'crash-quiet' : 'crash',
    fault: async (each) => {
      const cut = await each.network.partition('app1', 'redis');
      cutAt = cut.since;
      await each.driver.until(
        (status) => status.clients.some((client) => client.app === 'app1' && client.lastAckedSentAt > cut.since),
        'a message through app1 acknowledged while its publishes cannot go out',
        15_000,
        20,
      );
      if (quiet) {
        await each.driver.sending(false);
        await each.driver.until((status) => status.pending === 0, 'every message acknowledged before the kill', 15_000, 20);
      }
      killedAt = Date.now();
      await each.app('app1').stop('SIGKILL');
      // Its sockets would otherwise deliver the unsent publish after the heal.
      const left = await each.network.destroySockets('app1', 'redis');
      if (left !== 0) throw new Error(`${left} sockets from app1 to Redis survived ss -K`);
      await cut.heal();
      await each.app('app1').restart();
      return { faultAt: cut.since, healAt: Date.now() };
    },
    extraChecks: (_each, _analysis, report) => {
      const committed = new Set(
        report.clients
          .filter((client) => client.app === 'app1')
          .flatMap((client) => client.acked.filter(([, , , ackedAt]) => ackedAt > cutAt && ackedAt <= killedAt).map(([, id]) => id)),
      );
      const failures: string[] = [];
      const unpublished = [...committed].filter((id) => report.clients.some((client) => client.app === 'app2' && !client.seen.some(([seen, at]) => seen === id && at <= killedAt)));
      // Acknowledged after the cut: its publish went out with the echo, so most likely not at all.
      t.diagnostic(`  ${committed.size} messages were acknowledged by app1 between the cut and the kill; ${unpublished.length} of them had not reached every client of app2 by then`);
      for (const client of report.clients.filter((each) => each.app === 'app2')) {
        if (client.connections.length !== 1) failures.push(`${client.name} reconnected (${client.connections.length - 1} times): its open socket was not what got the messages`);
        const seen = new Set(client.seen.map(([id]) => id));
        const lacking = unpublished.filter((id) => !seen.has(id));
        if (lacking.length > 0) failures.push(`${client.name} never got ${lacking.length} of the ${unpublished.length} messages app1 committed but did not publish`);
      }
      if (unpublished.length === 0) failures.push('no message was left unpublished by the kill: the scenario did not happen');
      return failures;
    },
  };
}

/**
 * The course of every fault test: a clean start, traffic, the fault, traffic through it, the
 * heal, traffic after it, then no new messages until every client has every acknowledged one
 * (or a generous deadline), the final histories from both processes, and the checks. Each run
 * prints its summary line and details as test diagnostics and fails with every check that did.
 */
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { analyse, type Analysis, type Expectations, type ScenarioTimes } from './fault-analysis';
import { APPS, type FaultCluster } from './fault-cluster';
import type { HistoryEntry } from './fault-driver-protocol';
import type { Fault } from './network';

/** Acknowledged messages each client must have before the fault: a few seconds of traffic. */
const WARMUP_ACKS = 16;
/** Traffic goes on this long after the heal, so that it meets whatever the fault left behind. */
const TRAFFIC_AFTER_HEAL_MS = 3_000;
/** After the last new message, how long the clients have to converge before the test gives up. */
const CONVERGE_WITHIN_MS = 30_000;
/** How long to wait for `/readyz` to answer 200 after the heal before giving up (the check itself is `READY_WITHIN_MS`). */
const READY_DEADLINE_MS = 20_000;

export interface ScenarioSpec extends Expectations {
  readonly name: string;
  readonly room: string;
  /**
   * Puts the fault in place, keeps it while traffic flows, and removes it: resolves with when it
   * began and when it was healed.
   */
  readonly fault: (cluster: FaultCluster) => Promise<Pick<ScenarioTimes, 'faultAt' | 'healAt'>>;
  /** Driver timers other than the defaults. */
  readonly clients?: Parameters<FaultCluster['startScenario']>[1];
  /** Checks of this scenario's own, given what was measured: each failure in words. */
  readonly extraChecks?: (cluster: FaultCluster, analysis: Analysis, evidence: Awaited<ReturnType<FaultCluster['driver']['report']>>) => string[];
}

/** A fault held for `ms` while traffic flows: `inject` puts it in place, its `heal` removes it. */
export function heldFor(ms: number, inject: (cluster: FaultCluster) => Promise<Fault>): ScenarioSpec['fault'] {
  return async (cluster) => {
    const fault = await inject(cluster);
    await new Promise((resolve) => setTimeout(resolve, ms - (Date.now() - fault.since)));
    await fault.heal();
    return { faultAt: fault.since, healAt: Date.now() };
  };
}

export async function runScenario(t: TestContext, cluster: FaultCluster, spec: ScenarioSpec): Promise<Analysis> {
  await cluster.startScenario(spec.room, spec.clients);
  try {
    const driver = cluster.driver;
    await driver.sending(true);
    await driver.until((status) => status.clients.every((client) => client.acked >= WARMUP_ACKS), 'traffic before the fault', 20_000);
    const { faultAt, healAt } = await spec.fault(cluster);
    await new Promise((resolve) => setTimeout(resolve, TRAFFIC_AFTER_HEAL_MS));
    await driver.sending(false);
    const stoppedAt = Date.now();
    const convergedAt = await driver.until((status) => status.converged, 'convergence', CONVERGE_WITHIN_MS).then(
      () => Date.now(),
      () => null,
    );
    await driver
      .until((status) => APPS.every((app) => status.ready[app] === 200), 'readiness', Math.max(0, healAt + READY_DEADLINE_MS - Date.now()))
      .catch(() => {});
    const histories: Record<string, readonly HistoryEntry[] | string> = {};
    for (const app of APPS) histories[app] = await driver.history(app).catch((error: unknown) => String(error));
    const report = await driver.report();
    const logs = Object.fromEntries(APPS.map((app) => [app, cluster.app(app).output()]));
    const analysis = analyse(spec.name, { faultAt, healAt, stoppedAt }, { report, histories, logs, convergedAt }, spec);
    const failures = [...analysis.failures, ...(spec.extraChecks?.(cluster, analysis, report) ?? [])];
    t.diagnostic(analysis.summary);
    for (const line of analysis.details) t.diagnostic(`  ${line}`);
    for (const failure of failures) t.diagnostic(`  FAILED: ${failure}`);
    assert.deepEqual(failures, [], `${spec.name}: ${failures.length} checks failed`);
    return analysis;
  } finally {
    await cluster.stopScenario();
  }
}

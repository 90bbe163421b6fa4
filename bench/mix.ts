/**
 * The realistic mix (`npm run bench -- --only mix`): the app as a site runs it, every feature on
 * and the rate limit on (`RATE_LIMIT=20/10s`, the default), under a modest load of everything at
 * once, against the naive server doing only the messages of the same mix.
 *
 * Set-up, not measured: the app's production build (SQLite, one process) on the server core; the
 * clients (`mix-clients.ts`) on the generator core, each person from a loopback address of their
 * own, get their sessions as browsers do (a guest's from a page load; an account's from signing
 * up over HTTP), the accounts make the private rooms (members only), add their members and open
 * the direct messages; everyone present at the start joins with their session cookie. Rooms have
 * Zipf-like sizes (a few of 100 to 500, many of 2 to 10; `mix-plan.ts`).
 *
 * Measured over a fixed window, after a warm-up of the same schedule (the JIT compiles both
 * sides' paths; correctness is checked over both): messages at a fixed total rate, on an
 * open-loop schedule, each from a random member of a room picked by activity (a person never
 * sends more than the rate limit lets them), some after a typing frame; read markers a while
 * after something new arrives;
 * connections leaving and coming back (most resuming with `?after=`, the others joining afresh,
 * with history and presence), and late joiners. Figures: server CPU per message and per delivery
 * (every chat message received live, the senders' echoes included), p50/p99 from a message's
 * scheduled time to each delivery, p99 of connect plus history for joins and for resumes; and
 * correctness, which fails the scenario: every acknowledged message reaches every connection
 * that was in its room, or resumed into it, once; every message sent is acknowledged; no error
 * frame (no `rate_limited`), no resume answered `reset`, no close nobody asked for.
 *
 * Then the naive server (`baseline-server.ts`) gets the chat-message part alone (the same rooms,
 * clients and schedule; no sessions, typing, reads, history, presence or churn), and the app's
 * CPU per delivery is given as a ratio to it: the baseline does only the messages.
 */
import { type ChildProcess, fork } from 'node:child_process';
import path from 'node:path';
import { type MixOptions } from './mix-plan';
import type { MixCommand, MixFeatures, MixReport, MixRunReport, MixSetupReport } from './mix-clients';
import { cpuMs, pin, raiseFileLimit } from './process-stats';
import { GENERATOR_CORE, type ServerUnderTest, startApp, startBaseline } from './servers';

/** The product's default limit (SPEC: 20 messages per 10 s, bursts of 10), set explicitly. */
export const MIX_RATE_LIMIT = '20/10s';

/** One side of the mix: what the clients saw, and what the server spent. */
export interface MixSide {
  readonly setup: Omit<MixSetupReport, 'kind'>;
  readonly run: Omit<MixRunReport, 'kind'>;
  readonly serverCpuMs: number;
  /** Server CPU over the window and its drain, per message acknowledged and per delivery, in µs. */
  readonly serverUsPerMessage: number;
  readonly serverUsPerDelivery: number;
  readonly serverCpuShare: number;
  readonly generatorCpuShare: number;
}

export interface MixResult {
  readonly options: MixOptions;
  readonly app: MixSide;
  /** The naive server with the chat-message part of the mix only. */
  readonly baseline: MixSide;
  /** App / baseline, server CPU per delivery. */
  readonly cpuPerDeliveryRatio: number;
  /** Why the app's side failed; empty when it passed. */
  readonly failures: readonly string[];
}

class MixClients {
  readonly #child: ChildProcess;
  #waiting: ((report: MixReport) => void) | null = null;
  /** Called when the clients say the measured window starts. */
  onWindow: (() => void) | null = null;

  constructor() {
    this.#child = fork(path.join(__dirname, 'mix-clients.ts'), [], { execArgv: ['--import', 'tsx'], stdio: 'inherit' });
    if (this.#child.pid === undefined) throw new Error('could not start the mix clients');
    raiseFileLimit(this.#child.pid);
    pin(this.#child.pid, GENERATOR_CORE);
    this.#child.on('message', (report: MixReport) => {
      if (report.kind === 'window') {
        this.onWindow?.();
        return;
      }
      const waiting = this.#waiting;
      this.#waiting = null;
      waiting?.(report);
    });
    this.#child.on('exit', (code) => this.#waiting?.({ kind: 'failed', error: `the mix clients exited with ${code}` }));
  }

  ask<K extends MixReport['kind']>(command: MixCommand, expected: K): Promise<Extract<MixReport, { kind: K }>> {
    return new Promise((resolve, reject) => {
      this.#waiting = (report) => {
        if (report.kind === expected) resolve(report as Extract<MixReport, { kind: K }>);
        else reject(new Error(report.kind === 'failed' ? report.error : `expected ${expected}, got ${report.kind}`));
      };
      this.#child.send(command);
    });
  }

  async close(): Promise<void> {
    if (this.#child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.#child.once('exit', resolve));
    await this.ask({ kind: 'close' }, 'closed').catch(() => {});
    this.#child.kill();
    await exited;
  }
}

function serverCpu(server: ServerUnderTest): number {
  return server.pids.reduce((sum, pid) => sum + cpuMs(pid), 0);
}

/** One side: a fresh server, its clients set up, then the window measured. */
async function side(start: () => Promise<ServerUnderTest>, features: MixFeatures, options: MixOptions): Promise<MixSide> {
  const server = await start();
  const clients = new MixClients();
  try {
    const target = server.targets[0]!;
    const { kind: _setUp, ...setup } = await clients.ask({ kind: 'setup', host: target.host, port: target.port, origin: server.origin, options, features }, 'set-up');
    let before = Number.NaN;
    clients.onWindow = () => (before = serverCpu(server));
    const { kind: _ran, ...run } = await clients.ask({ kind: 'run' }, 'ran');
    const serverCpuMs = serverCpu(server) - before;
    return {
      setup,
      run,
      serverCpuMs,
      serverUsPerMessage: (serverCpuMs * 1000) / run.acknowledged,
      serverUsPerDelivery: (serverCpuMs * 1000) / run.deliveries,
      serverCpuShare: serverCpuMs / run.elapsedMs,
      generatorCpuShare: run.generatorCpuMs / run.elapsedMs,
    };
  } finally {
    await clients.close();
    await server.stop();
  }
}

/** What makes the app's side fail (the clients' correctness checks). */
export function mixFailures(run: Omit<MixRunReport, 'kind'>): string[] {
  const failures: string[] = [];
  if (run.missing > 0) failures.push(`${run.missing} deliveries missing`);
  if (run.duplicates > 0) failures.push(`${run.duplicates} deliveries twice`);
  if (run.unacknowledged > 0) failures.push(`${run.unacknowledged} messages not acknowledged`);
  for (const [code, count] of Object.entries(run.errors)) failures.push(`${count} error frames ${code}`);
  if (run.resets > 0) failures.push(`${run.resets} resumes answered reset`);
  if (run.unexpectedCloses > 0) failures.push(`${run.unexpectedCloses} closes or refusals nobody asked for`);
  return failures;
}

const ms = (value: number): string => (Number.isFinite(value) ? `${value.toFixed(1)} ms` : 'n/a');

/** Runs the mix on the app, then its messages on the naive server (see the module's comment). */
export async function mixScenario(options: MixOptions, log: (line: string) => void): Promise<MixResult> {
  const app = await side(() => startApp(1, 'single', { rateLimit: MIX_RATE_LIMIT }), 'all', options);
  const { setup, run } = app;
  log(
    `  app: ${setup.connections} connections of ${setup.persons} people (${setup.accounts} accounts) in ${setup.rooms} rooms; sessions in ` +
      `${(setup.sessionsMs / 1000).toFixed(1)} s, accounts and their rooms in ${(setup.accountsMs / 1000).toFixed(1)} s, joined in ${(setup.connectMs / 1000).toFixed(1)} s`,
  );
  log(
    `  app, ${(run.windowMs / 1000).toFixed(0)} s at ${options.rate} messages/s: ${run.acknowledged} of ${run.sent} messages acknowledged (${run.skipped} skipped), ` +
      `${run.deliveries} deliveries, p50 ${ms(run.p50Ms)}, p99 ${ms(run.p99Ms)}; ${run.typingSent} typing, ${run.readsSent} read markers, ` +
      `${run.leaves} leaves, ${run.resumes} resumes (p99 ${ms(run.resumeP99Ms)}), ${run.joins} joins (connect + history p99 ${ms(run.joinP99Ms)}); ` +
      `${run.presenceFrames} presence frames received`,
  );
  log(
    `  app: server CPU ${(app.serverCpuMs / 1000).toFixed(2)} s (${(app.serverCpuShare * 100).toFixed(0)}% of a core), ${app.serverUsPerMessage.toFixed(0)} µs per message, ` +
      `${app.serverUsPerDelivery.toFixed(2)} µs per delivery; generator ${(app.generatorCpuShare * 100).toFixed(0)}%; missing ${run.missing}, twice ${run.duplicates}`,
  );
  const baseline = await side(startBaseline, 'messages', options);
  log(
    `  naive ws, the messages only: ${baseline.run.acknowledged} of ${baseline.run.sent} messages, ${baseline.run.deliveries} deliveries, p99 ${ms(baseline.run.p99Ms)}, ` +
      `${baseline.serverUsPerDelivery.toFixed(2)} µs per delivery (${(baseline.serverCpuShare * 100).toFixed(0)}% of a core); missing ${baseline.run.missing}`,
  );
  return {
    options,
    app,
    baseline,
    cpuPerDeliveryRatio: app.serverUsPerDelivery / baseline.serverUsPerDelivery,
    failures: mixFailures(run),
  };
}

/**
 * The scenarios: stepped open-loop rates into one big room (fan-out) or many small ones, idle
 * connections, and the fan-out across two processes with Redis. Each runs on a fresh server and
 * a fresh load generator, and measures the server's CPU from /proc around every step.
 */
import { Generator } from './generator';
import type { StepReport } from './generator-protocol';
import { cpuMs, rssBytes } from './process-stats';
import type { ServerUnderTest } from './servers';

/** A step passes when every delivery arrived, no error came back, and p99 stayed within this. */
export const MAX_P99_MS = 100;

/** A step as the generator reported it, with the server's side and the verdict. */
export interface StepResult extends Pick<StepReport, 'sent' | 'expected' | 'received' | 'errors' | 'p50Ms' | 'p99Ms' | 'maxMs' | 'scheduleLagMs'> {
  /** Messages per second offered, all senders together. */
  readonly rate: number;
  /** Deliveries per second offered: each message once per member of its room. */
  readonly offered: number;
  /** Server CPU (every process of the set-up) per delivery received, in microseconds. */
  readonly serverUsPerDelivery: number;
  /** Server CPU over the step as a share of one core. */
  readonly serverCpuShare: number;
  readonly generatorCpuShare: number;
  readonly passed: boolean;
}

export interface LadderResult {
  readonly steps: readonly StepResult[];
  /** The highest rate that passed, if any. */
  readonly capacity: StepResult | null;
  /** The first step that failed (the server, or the generator, at its limit), else the last. */
  readonly saturation: StepResult | null;
}

export interface Timing {
  readonly stepMs: number;
  readonly drainMs: number;
}

let stepCounter = 0;

function serverCpu(server: ServerUnderTest): number {
  return server.pids.reduce((sum, pid) => sum + cpuMs(pid), 0);
}

async function runStep(
  server: ServerUnderTest,
  generator: Generator,
  senders: readonly number[],
  fanOut: number,
  rate: number,
  timing: Timing,
): Promise<StepResult> {
  const before = serverCpu(server);
  const report = await generator.step({ step: ++stepCounter, rate, durationMs: timing.stepMs, senders, drainMs: timing.drainMs });
  const serverMs = serverCpu(server) - before;
  const passed = report.received >= report.expected && report.errors === 0 && report.p99Ms <= MAX_P99_MS;
  return {
    rate,
    offered: rate * fanOut,
    sent: report.sent,
    expected: report.expected,
    received: report.received,
    errors: report.errors,
    p50Ms: report.p50Ms,
    p99Ms: report.p99Ms,
    maxMs: report.maxMs,
    serverUsPerDelivery: report.received > 0 ? (serverMs * 1000) / report.received : Number.NaN,
    serverCpuShare: serverMs / report.elapsedMs,
    generatorCpuShare: report.generatorCpuMs / report.elapsedMs,
    scheduleLagMs: report.scheduleLagMs,
    passed,
  };
}

/** How the clients sit in rooms; with several processes they go round-robin over them. */
export interface RoomLayout {
  readonly rooms: number;
  readonly perRoom: number;
}

function clientsFor(server: ServerUnderTest, layout: RoomLayout, prefix: string): { room: string; target: number }[] {
  const clients: { room: string; target: number }[] = [];
  for (let room = 0; room < layout.rooms; room++) {
    for (let member = 0; member < layout.perRoom; member++) {
      clients.push({ room: `${prefix}-${room}`, target: clients.length % server.targets.length });
    }
  }
  return clients;
}

export interface LadderOptions {
  readonly layout: RoomLayout;
  /** `one`: client 0 sends everything (fan-out); `all`: every client sends in turn. */
  readonly senders: 'one' | 'all';
  readonly rates: readonly number[];
  /** Rates to measure besides the ladder (they do not stop it). */
  readonly extraRates?: readonly number[];
  readonly timing: Timing;
  readonly log: (line: string) => void;
}

export interface LadderScenario {
  readonly ladder: LadderResult;
  readonly extra: readonly StepResult[];
  readonly connectMs: number;
}

/** Connects the clients, warms up, then steps the rate up until a step fails. */
export async function ladderScenario(server: ServerUnderTest, prefix: string, options: LadderOptions): Promise<LadderScenario> {
  const generator = Generator.start();
  try {
    const clients = clientsFor(server, options.layout, prefix);
    const connected = await generator.connect({
      targets: server.targets,
      origin: server.origin,
      clients,
      readyOn: server.readyOn,
      concurrency: 50,
    });
    const senders = options.senders === 'one' ? [0] : clients.map((_, index) => index);
    const fanOut = options.layout.perRoom;
    const first = options.rates[0]!;
    // Warm-up, not recorded: the JIT compiles the hot paths of both sides.
    await runStep(server, generator, senders, fanOut, first / 2, { stepMs: Math.min(1000, options.timing.stepMs), drainMs: options.timing.drainMs });
    const steps: StepResult[] = [];
    for (const rate of options.rates) {
      let step = await runStep(server, generator, senders, fanOut, rate, options.timing);
      if (!step.passed) {
        // One stall of the machine (a steal of the virtual CPU, a long GC) can fail a step far
        // below capacity: a rate fails when it fails twice running.
        options.log(`${describeStep(server.name, step)} (once more)`);
        step = await runStep(server, generator, senders, fanOut, rate, options.timing);
      }
      steps.push(step);
      options.log(describeStep(server.name, step));
      if (!step.passed) break;
    }
    const extra: StepResult[] = [];
    for (const rate of options.extraRates ?? []) {
      const step = await runStep(server, generator, senders, fanOut, rate, options.timing);
      extra.push(step);
      options.log(`${describeStep(server.name, step)} (comparison rate)`);
    }
    const passing = steps.filter((step) => step.passed);
    return {
      ladder: { steps, capacity: passing.at(-1) ?? null, saturation: steps.find((step) => !step.passed) ?? steps.at(-1) ?? null },
      extra,
      connectMs: connected.ms,
    };
  } finally {
    await generator.close();
  }
}

export interface IdleResult {
  readonly connections: number;
  readonly bytesPerConnection: number;
  readonly connectsPerSecond: number;
}

/** Opens `connections` clients that then stay quiet: memory per connection, and connects per second. */
export async function idleScenario(server: ServerUnderTest, layout: RoomLayout): Promise<IdleResult> {
  const generator = Generator.start();
  try {
    // The first connections also warm the server up (code compiled, caches filled): that is paid
    // once, not per connection, so it is left out of the measurement.
    const warmUp = clientsFor(server, { rooms: 10, perRoom: layout.perRoom }, 'idle-warm-up');
    await generator.connect({ targets: server.targets, origin: server.origin, clients: warmUp, readyOn: server.readyOn, concurrency: 50 });
    await settle(server);
    const before = rssBytes(server.mainPid);
    const clients = clientsFor(server, layout, 'idle');
    const connected = await generator.connect({ targets: server.targets, origin: server.origin, clients, readyOn: server.readyOn, concurrency: 50 });
    await settle(server);
    const after = rssBytes(server.mainPid);
    return {
      connections: clients.length,
      bytesPerConnection: (after - before) / clients.length,
      connectsPerSecond: (clients.length * 1000) / connected.ms,
    };
  } finally {
    await generator.close();
  }
}

/** Waits until the server has stopped working on the connections (its CPU use stays flat). */
async function settle(server: ServerUnderTest): Promise<void> {
  let last = serverCpu(server);
  for (let round = 0; round < 50; round++) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    const now = serverCpu(server);
    if (now - last < 10) return;
    last = now;
  }
}

export function describeStep(name: string, step: StepResult): string {
  return (
    `  ${name.padEnd(16)} ${String(step.rate).padStart(6)} msg/s ${formatRate(step.offered).padStart(8)} deliveries/s  ` +
    `p50 ${step.p50Ms.toFixed(2).padStart(7)} ms  p99 ${step.p99Ms.toFixed(2).padStart(7)} ms  ` +
    `${step.serverUsPerDelivery.toFixed(3)} µs/delivery  server ${(step.serverCpuShare * 100).toFixed(0)}%  ` +
    `generator ${(step.generatorCpuShare * 100).toFixed(0)}%  ${step.passed ? 'ok' : `FAIL (${failure(step)})`}`
  );
}

export function failure(step: StepResult): string {
  if (step.errors > 0) return `${step.errors} error frames`;
  if (step.received < step.expected) return `${step.expected - step.received} of ${step.expected} not delivered`;
  return `p99 over ${MAX_P99_MS} ms`;
}

export function formatRate(value: number): string {
  if (value >= 1e6) return `${(value / 1e6).toFixed(2)}M`;
  if (value >= 1e3) return `${(value / 1e3).toFixed(1)}k`;
  return value.toFixed(0);
}

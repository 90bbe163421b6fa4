/**
 * The scenarios: stepped open-loop rates into one big room (fan-out) or many small ones, idle
 * connections, connects per second; and two set-ups stepped in turns, at every rate of a ladder
 * (the Redis comparison) or at one rate (latency at half the naive server's capacity). Each
 * measures the servers' CPU from /proc around every step.
 */
import { Generator } from './generator';
import type { StepReport } from './generator-protocol';
import { cpuMs, describeThreads, rssBytes, type ThreadShare, threadShares, threadSnapshot } from './process-stats';
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
  /** The server's CPU by thread over the step (the main threads, and the others by name), busiest first. */
  readonly serverThreads: readonly ThreadShare[];
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
  /** How long each set-up runs at the ladder's first rate, unrecorded, before its first step. */
  readonly warmUpMs: number;
}

/** How the clients sit in rooms; with several processes they go round-robin over them. */
export interface RoomLayout {
  readonly rooms: number;
  readonly perRoom: number;
}

let stepCounter = 0;

function serverCpu(server: ServerUnderTest): number {
  return server.pids.reduce((sum, pid) => sum + cpuMs(pid), 0);
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

/** The clients of one server set-up, connected by a generator of their own, ready to step. */
class Load {
  readonly server: ServerUnderTest;
  readonly connectMs: number;
  readonly #generator: Generator;
  readonly #senders: readonly number[];
  readonly #fanOut: number;

  private constructor(server: ServerUnderTest, generator: Generator, connectMs: number, senders: readonly number[], fanOut: number) {
    this.server = server;
    this.#generator = generator;
    this.connectMs = connectMs;
    this.#senders = senders;
    this.#fanOut = fanOut;
  }

  /** `one`: client 0 sends everything (fan-out); `all`: every client sends in turn. */
  static async open(server: ServerUnderTest, prefix: string, layout: RoomLayout, senders: 'one' | 'all'): Promise<Load> {
    const generator = Generator.start();
    try {
      const clients = clientsFor(server, layout, prefix);
      const connected = await generator.connect({
        targets: server.targets,
        origin: server.origin,
        clients,
        readyOn: server.readyOn,
        concurrency: 50,
        transport: server.transport ?? 'websocket',
      });
      const sending = senders === 'one' ? [0] : clients.map((_, index) => index);
      return new Load(server, generator, connected.ms, sending, layout.perRoom);
    } catch (error) {
      await generator.close();
      throw error;
    }
  }

  async step(rate: number, timing: Timing): Promise<StepResult> {
    const threadsBefore = threadSnapshot(this.server.pids);
    const before = serverCpu(this.server);
    const report = await this.#generator.step({ step: ++stepCounter, rate, durationMs: timing.stepMs, senders: this.#senders, drainMs: timing.drainMs });
    const serverMs = serverCpu(this.server) - before;
    const serverThreads = threadShares(threadsBefore, threadSnapshot(this.server.pids), report.elapsedMs);
    const passed = report.received >= report.expected && report.errors === 0 && report.p99Ms <= MAX_P99_MS;
    return {
      rate,
      offered: rate * this.#fanOut,
      sent: report.sent,
      expected: report.expected,
      received: report.received,
      errors: report.errors,
      // A step that delivered nothing has no percentiles: NaN, which crossed the IPC as null.
      p50Ms: report.p50Ms ?? Number.NaN,
      p99Ms: report.p99Ms ?? Number.NaN,
      maxMs: report.maxMs ?? Number.NaN,
      serverUsPerDelivery: report.received > 0 ? (serverMs * 1000) / report.received : Number.NaN,
      serverCpuShare: serverMs / report.elapsedMs,
      generatorCpuShare: report.generatorCpuMs / report.elapsedMs,
      serverThreads,
      scheduleLagMs: report.scheduleLagMs,
      passed,
    };
  }

  /**
   * One step at `rate`, and once more when it fails: one stall of the machine (a steal of the
   * virtual CPU, a long GC) can fail a step far below capacity, so a rate fails when it fails
   * twice running.
   */
  async stepConfirmed(rate: number, timing: Timing, log: (line: string) => void): Promise<StepResult> {
    const step = await this.step(rate, timing);
    if (step.passed) return step;
    log(`${describeStep(this.server.name, step)} (once more)`);
    return this.step(rate, timing);
  }

  /**
   * Not recorded: the JIT compiles the hot paths of both sides. It has to run long enough for the
   * paths that run once per batch rather than once per delivery (the store's and Redis's clients
   * in the sending process of two): after 6 s at 300 messages/s that process still compiled 44
   * functions during a 3-s step at 400 (its compiler threads took a sixth of its CPU), and about
   * 10 per step only some 15 s later. Warmed up for 1 s at half the first rate, two processes
   * cost about 1.3 times one at the top rates of the paired ladder; for 15 s at the first rate,
   * about 1.0 times.
   */
  async warmUp(rate: number, timing: Timing): Promise<void> {
    await this.step(rate, { ...timing, stepMs: timing.warmUpMs });
  }

  close(): Promise<void> {
    return this.#generator.close();
  }
}

function ladderResult(steps: readonly StepResult[]): LadderResult {
  return {
    steps,
    capacity: steps.filter((step) => step.passed).at(-1) ?? null,
    saturation: steps.find((step) => !step.passed) ?? steps.at(-1) ?? null,
  };
}

export interface LadderOptions {
  readonly layout: RoomLayout;
  /** `one`: client 0 sends everything (fan-out); `all`: every client sends in turn. */
  readonly senders: 'one' | 'all';
  readonly rates: readonly number[];
  readonly timing: Timing;
  readonly log: (line: string) => void;
}

/** Steps `load` up through the rates until a step fails; `afterPassed` runs after each step that passed. */
async function climb(load: Load, options: LadderOptions, afterPassed?: (rate: number) => Promise<void>): Promise<StepResult[]> {
  const steps: StepResult[] = [];
  for (const rate of options.rates) {
    const step = await load.stepConfirmed(rate, options.timing, options.log);
    steps.push(step);
    options.log(describeStep(load.server.name, step));
    if (!step.passed) break;
    await afterPassed?.(rate);
  }
  return steps;
}

/** Connects the clients, warms up, then steps the rate up until a step fails. */
export async function ladderScenario(server: ServerUnderTest, prefix: string, options: LadderOptions): Promise<LadderResult> {
  const load = await Load.open(server, prefix, options.layout, options.senders);
  try {
    await load.warmUp(options.rates[0]!, options.timing);
    return ladderResult(await climb(load, options));
  } finally {
    await load.close();
  }
}

/**
 * Several set-ups, connected and warmed up at `rate`, stepped at it in turns, the first (the
 * reference) first in each round, so that what is compared sees the machine in the same state: a
 * figure taken minutes apart on this virtual machine moves by tens of percent (the naive
 * server's p99 at one rate has read 6.7 and 9.8 ms). Answers one list of steps per round, in
 * the order of `servers`.
 */
export async function stepsInTurns(
  servers: readonly ServerUnderTest[],
  prefix: string,
  options: Omit<LadderOptions, 'rates'>,
  rate: number,
  rounds: number,
): Promise<StepResult[][]> {
  const loads: Load[] = [];
  try {
    for (const [index, server] of servers.entries()) loads.push(await Load.open(server, `${prefix}-${index}`, options.layout, options.senders));
    for (const load of loads) await load.warmUp(rate, options.timing);
    const turns: StepResult[][] = [];
    for (let round = 1; round <= rounds; round++) {
      const steps: StepResult[] = [];
      for (const load of loads) {
        const step = await load.step(rate, options.timing);
        options.log(`${describeStep(load.server.name, step)} (turn ${round} of ${rounds})`);
        steps.push(step);
      }
      turns.push(steps);
    }
    return turns;
  } finally {
    await Promise.all(loads.map((load) => load.close()));
  }
}

/** A step of the subject and the step of the reference it is compared with, taken one after the other. */
export interface StepPair {
  readonly subject: StepResult;
  readonly reference: StepResult;
}

export interface PairedLadder {
  /** The set-up whose ladder it is: stepped up until it fails. */
  readonly subject: LadderResult;
  /** The reference set-up, stepped at each of the subject's rates right after it. */
  readonly reference: readonly StepResult[];
}

/**
 * Two set-ups stepped in turns at the same rates, each step of one right after the same step of
 * the other, so both see the machine in the same state (a virtual machine's speed drifts by tens
 * of percent over minutes): the subject's ladder goes up until it fails, and the reference is
 * measured at each of its rates.
 */
export async function pairedLadder(
  subject: ServerUnderTest,
  reference: ServerUnderTest,
  prefix: string,
  options: LadderOptions,
): Promise<PairedLadder> {
  const loads: Load[] = [];
  try {
    loads.push(await Load.open(subject, `${prefix}-subject`, options.layout, options.senders));
    loads.push(await Load.open(reference, `${prefix}-reference`, options.layout, options.senders));
    const [subjectLoad, referenceLoad] = loads as [Load, Load];
    for (const load of loads) await load.warmUp(options.rates[0]!, options.timing);
    const referenceSteps: StepResult[] = [];
    const steps = await climb(subjectLoad, options, async (rate) => {
      const referenceStep = await referenceLoad.step(rate, options.timing);
      referenceSteps.push(referenceStep);
      options.log(describeStep(reference.name, referenceStep));
    });
    return { subject: ladderResult(steps), reference: referenceSteps };
  } finally {
    await Promise.all(loads.map((load) => load.close()));
  }
}

export interface MemoryResult {
  readonly connections: number;
  readonly bytesPerConnection: number;
  /** Connects per second of the first batch, the code still being compiled (for information). */
  readonly coldConnectsPerSecond: number;
}

/**
 * What a further idle connection costs a server just started: `layout`'s clients opened once,
 * then once more, each kept quiet, and the growth of the server's resident memory per
 * connection over the second batch, each reading taken once its CPU and memory stay put
 * (`steadyReadings` readings 500 ms apart). The first batch comes `startupMs` after the warm-up,
 * so that V8 has given back what the server's start-up left (it does, some 8 s in). It is not
 * counted because a burst of connects grows V8's young generation (up to 32 MiB) by an amount
 * that depends on what it was before: measured over the first 5,000, the naive server's 31 MiB of
 * young generation made 6.3 of its 8.5 KiB a connection, while the app's had grown at start-up.
 */
export async function memoryScenario(server: ServerUnderTest, layout: RoomLayout, steadyReadings: number, startupMs: number): Promise<MemoryResult> {
  const generator = Generator.start();
  const connect = (clients: ReturnType<typeof clientsFor>) =>
    generator.connect({ targets: server.targets, origin: server.origin, clients, readyOn: server.readyOn, concurrency: 50, transport: server.transport });
  try {
    // The first connections also warm the server up (code loaded, caches filled): that is paid
    // once, not per connection, so it is left out of the measurement.
    await connect(clientsFor(server, { rooms: 10, perRoom: layout.perRoom }, 'idle-warm-up'));
    await new Promise((resolve) => setTimeout(resolve, startupMs));
    const first = clientsFor(server, layout, 'idle-first');
    const cold = await connect(first);
    const before = await steadyRss(server, steadyReadings);
    const clients = clientsFor(server, layout, 'idle');
    await connect(clients);
    const after = await steadyRss(server, steadyReadings);
    return {
      connections: clients.length,
      bytesPerConnection: (after - before) / clients.length,
      coldConnectsPerSecond: (first.length * 1000) / cold.ms,
    };
  } finally {
    await generator.close();
  }
}

export interface ConnectRound {
  readonly connectsPerSecond: number;
  readonly serverUsPerConnect: number;
  readonly serverCpuShare: number;
  readonly generatorCpuShare: number;
}

export interface ConnectResult {
  /** The median round's figures (by connects per second). */
  readonly median: ConnectRound;
  readonly rounds: readonly ConnectRound[];
}

/**
 * Connects per second of servers already warm (their connect path compiled, as on a server that
 * has run a while): rounds of `layout`'s clients, connected then closed, one server after the
 * other in turns so they see the machine in the same state, and the median round of each. The
 * first `warmUpRounds` rounds are not counted: V8 takes several thousand connects to finish
 * compiling the app's connect path.
 */
export async function connectRounds(servers: readonly ServerUnderTest[], layout: RoomLayout, rounds: number, warmUpRounds: number): Promise<ConnectResult[]> {
  const results: ConnectRound[][] = servers.map(() => []);
  for (let round = -warmUpRounds; round < rounds; round++) {
    for (const [index, server] of servers.entries()) {
      const generator = Generator.start();
      try {
        const clients = clientsFor(server, layout, `connect-${round + warmUpRounds}`);
        const before = serverCpu(server);
        const connected = await generator.connect({ targets: server.targets, origin: server.origin, clients, readyOn: server.readyOn, concurrency: 50, transport: server.transport });
        const serverMs = serverCpu(server) - before;
        if (round >= 0) results[index]!.push({
          connectsPerSecond: (clients.length * 1000) / connected.ms,
          serverUsPerConnect: (serverMs * 1000) / clients.length,
          serverCpuShare: serverMs / connected.ms,
          generatorCpuShare: connected.generatorCpuMs / connected.ms,
        });
      } finally {
        await generator.close();
      }
      await settle(server);
    }
  }
  return results.map((list) => {
    const sorted = [...list].sort((a, b) => a.connectsPerSecond - b.connectsPerSecond);
    return { median: sorted[Math.floor(sorted.length / 2)]!, rounds: list };
  });
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

/** The server's resident memory once its CPU use is flat and `readings` readings in a row agree. */
async function steadyRss(server: ServerUnderTest, readings: number): Promise<number> {
  await settle(server);
  let last = rssBytes(server.mainPid);
  let unchanged = 0;
  for (let reading = 0; reading < 40 && unchanged < readings; reading++) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    const now = rssBytes(server.mainPid);
    unchanged = now === last ? unchanged + 1 : 0;
    last = now;
  }
  return last;
}

export function describeStep(name: string, step: StepResult): string {
  return (
    `  ${name.padEnd(16)} ${String(step.rate).padStart(6)} msg/s ${formatRate(step.offered).padStart(8)} deliveries/s  ` +
    `p50 ${step.p50Ms.toFixed(2).padStart(7)} ms  p99 ${step.p99Ms.toFixed(2).padStart(7)} ms  ` +
    `${step.serverUsPerDelivery.toFixed(3)} µs/delivery  server ${(step.serverCpuShare * 100).toFixed(0)}%  ` +
    `generator ${(step.generatorCpuShare * 100).toFixed(0)}%  ${step.passed ? 'ok' : `FAIL (${failure(step)})`}  [${describeThreads(step.serverThreads)}]`
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

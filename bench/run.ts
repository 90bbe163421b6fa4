/**
 * `npm run bench [-- --quick] [--only fallback] [--cpu-prof <folder>]`: the app against a naive raw `ws` broadcast server, in one run, on
 * this machine, and the app's HTTP fallback against its WebSockets (`--only fallback`: that alone). Each server runs pinned to core 0 and the load generator to core 1 (where
 * `taskset` exists); every figure is printed beside the baseline's, as a ratio, with the targets
 * and which side was the limit. Results go to bench/results/<date>-<mode>.json and two SVG charts.
 * Builds the app first when the build is missing or older than the code.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { PROJECT_ROOT } from '../e2e/support/app-server';
import { type ChartSeries, latencyChart } from './chart';
import { FALLBACK_CPU_AIM, fallbackLayout, type FallbackLayoutResult, fallbackSummary } from './fallback';
import {
  connectRounds,
  type ConnectResult,
  failure,
  formatRate,
  type LadderResult,
  ladderScenario,
  MAX_P99_MS,
  memoryScenario,
  type MemoryResult,
  pairedLadder,
  type PairedLadder,
  type RoomLayout,
  type StepPair,
  type StepResult,
  stepsInTurns,
  type Timing,
} from './scenarios';
import { startApp, startBaseline, type ServerUnderTest } from './servers';

interface Mode {
  readonly name: 'full' | 'quick';
  readonly fanOut: RoomLayout;
  readonly rooms: RoomLayout;
  readonly idle: RoomLayout;
  /** The clients of one round of connects, how many rounds each server gets, and how many of them first go uncounted. */
  readonly connects: RoomLayout;
  readonly connectRounds: number;
  readonly connectWarmUpRounds: number;
  /**
   * Fresh servers of each kind whose memory is read (the lowest counts), the readings 500 ms
   * apart that must agree before memory is taken, and how long after start-up the first is.
   */
  readonly memoryRuns: number;
  readonly memoryReadings: number;
  readonly memoryStartupMs: number;
  readonly fanOutRates: readonly number[];
  /** Rounds of the latency comparison at half the baseline's capacity, the two servers in turns. */
  readonly halfRounds: number;
  readonly roomRates: readonly number[];
  /** The rates (messages/s) at which the fallback and WebSockets are stepped in turns, in each layout. */
  readonly fallbackFanOutRates: readonly number[];
  readonly fallbackRoomRates: readonly number[];
  readonly timing: Timing;
}

function geometric(first: number, factor: number, count: number): number[] {
  return Array.from({ length: count }, (_, index) => Math.round(first * factor ** index));
}

/** The same rooms in both modes: what differs is how fine the rate steps are, how long, and how many idle connections. */
const LAYOUTS = {
  fanOut: { rooms: 1, perRoom: 500 },
  rooms: { rooms: 100, perRoom: 10 },
} as const satisfies Record<string, RoomLayout>;

const MODES: Record<Mode['name'], Mode> = {
  full: {
    name: 'full',
    ...LAYOUTS,
    idle: { rooms: 500, perRoom: 10 },
    connects: { rooms: 200, perRoom: 10 },
    connectRounds: 5,
    connectWarmUpRounds: 4,
    memoryRuns: 2,
    memoryReadings: 4,
    memoryStartupMs: 12_000,
    fanOutRates: geometric(100, 1.25, 30),
    halfRounds: 5,
    roomRates: geometric(1000, 1.25, 30),
    fallbackFanOutRates: geometric(100, 2, 5),
    fallbackRoomRates: geometric(1000, 2, 4),
    timing: { stepMs: 3000, drainMs: 2000, warmUpMs: 15_000 },
  },
  quick: {
    name: 'quick',
    ...LAYOUTS,
    idle: { rooms: 100, perRoom: 10 },
    connects: { rooms: 100, perRoom: 10 },
    connectRounds: 2,
    connectWarmUpRounds: 1,
    memoryRuns: 1,
    memoryReadings: 2,
    memoryStartupMs: 0,
    fanOutRates: geometric(100, 2, 9),
    halfRounds: 1,
    roomRates: geometric(2000, 2, 8),
    fallbackFanOutRates: geometric(100, 4, 3),
    fallbackRoomRates: geometric(1000, 4, 2),
    timing: { stepMs: 400, drainMs: 400, warmUpMs: 400 },
  },
};

const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false }, only: { type: 'string' }, 'cpu-prof': { type: 'string' } } });
const mode = MODES[values.quick ? 'quick' : 'full'];
if (values.only !== undefined && values.only !== 'fallback') throw new Error(`--only takes "fallback", not "${values.only}"`);
if (values['cpu-prof']) process.env.BENCH_CPU_PROF_DIR = path.resolve(values['cpu-prof']);
const log = (line: string): void => void process.stdout.write(`${line}\n`);

function ensureBuild(): void {
  const built = path.join(PROJECT_ROOT, 'dist', 'server.js');
  const builtAt = existsSync(built) && existsSync(path.join(PROJECT_ROOT, '.next', 'BUILD_ID')) ? statSync(built).mtimeMs : 0;
  const sources = [path.join(PROJECT_ROOT, 'server.ts'), ...filesUnder(path.join(PROJECT_ROOT, 'lib')).filter((file) => !file.includes(`${path.sep}testing${path.sep}`)), ...filesUnder(path.join(PROJECT_ROOT, 'app'))];
  if (sources.every((file) => statSync(file).mtimeMs <= builtAt)) return;
  log('building the app (npm run build): the build is missing or older than the code');
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: PROJECT_ROOT, stdio: 'inherit' });
}

function filesUnder(folder: string): string[] {
  return readdirSync(folder, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && !entry.name.endsWith('.test.ts'))
    .map((entry) => path.join(entry.parentPath, entry.name));
}

type Start = () => Promise<ServerUnderTest>;

async function withServer<T>(start: Start, work: (server: ServerUnderTest) => Promise<T>): Promise<T> {
  const server = await start();
  try {
    return await work(server);
  } finally {
    await server.stop();
  }
}

/** Two set-ups up at once (one idles while the other is measured), stopped after `work`. */
function withServers<T>(first: Start, second: Start, work: (first: ServerUnderTest, second: ServerUnderTest) => Promise<T>): Promise<T> {
  return withServer(first, (one) => withServer(second, (two) => work(one, two)));
}

interface Target {
  readonly name: string;
  readonly app: number;
  readonly baseline: number;
  readonly unit: string;
  /** The ratio app / baseline must be at most this (`lower`) or at least this (`higher`). */
  readonly limit: number;
  readonly better: 'lower' | 'higher';
  /** Which side bounded the measurement, where it was a saturation. */
  readonly note?: string;
}

function ratio(target: Target): number {
  return target.app / target.baseline;
}

function met(target: Target): boolean {
  const value = ratio(target);
  return Number.isFinite(value) && (target.better === 'lower' ? value <= target.limit : value >= target.limit);
}

function atRate(ladder: LadderResult, rate: number): StepResult | undefined {
  return ladder.steps.find((step) => step.rate === rate);
}

/** Which side was the bound at a step: the one nearer to a whole core. */
function limitOf(step: StepResult | null): string {
  if (!step) return 'n/a';
  const side = step.generatorCpuShare > step.serverCpuShare ? 'generator' : 'server';
  return `${side} (server ${(step.serverCpuShare * 100).toFixed(0)}%, generator ${(step.generatorCpuShare * 100).toFixed(0)}% of a core)`;
}

/** The steps both set-ups of a paired ladder passed, highest rate last. */
function passedPairs(ladder: PairedLadder): StepPair[] {
  return ladder.reference
    .map((reference, index) => ({ subject: ladder.subject.steps[index]!, reference }))
    .filter((pair) => pair.subject.passed && pair.reference.passed);
}

function pairRatios(ladder: PairedLadder): number[] {
  return passedPairs(ladder).map((pair) => pair.subject.serverUsPerDelivery / pair.reference.serverUsPerDelivery);
}

/** The pair whose ratio of `measure` (subject / reference) is the median (the lower middle one of an even count). */
function medianPair(pairs: readonly StepPair[], measure: (step: StepResult) => number): StepPair | undefined {
  const ratioOf = (pair: StepPair): number => measure(pair.subject) / measure(pair.reference);
  const sorted = [...pairs].sort((a, b) => ratioOf(a) - ratioOf(b));
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

function connectLimit(result: ConnectResult): string {
  const { serverCpuShare, generatorCpuShare } = result.median;
  const side = generatorCpuShare > serverCpuShare ? 'generator' : 'server';
  return `${side} (server ${(serverCpuShare * 100).toFixed(0)}%, generator ${(generatorCpuShare * 100).toFixed(0)}% of a core)`;
}

function lines(name: string, color: string, ladder: LadderResult): ChartSeries {
  return { name, color, points: ladder.steps.map((step) => ({ x: step.offered, y: step.p99Ms, passed: step.passed })) };
}

/** Both layouts over the fallback and over WebSockets, in turns. */
async function fallbackScenarios(log: (line: string) => void): Promise<FallbackLayoutResult[]> {
  const options = { timing: mode.timing, log };
  log(`  fan-out: ${mode.fanOut.perRoom} clients in one room, every client sending in turn, at ${mode.fallbackFanOutRates.join(', ')} messages/s`);
  const fanOut = await fallbackLayout('fan-out', 'fallback-fanout', mode.fanOut, mode.fallbackFanOutRates, options);
  log(`  many rooms: ${mode.rooms.rooms} rooms of ${mode.rooms.perRoom}, every client sending in turn, at ${mode.fallbackRoomRates.join(', ')} messages/s`);
  const rooms = await fallbackLayout('many rooms', 'fallback-rooms', mode.rooms, mode.fallbackRoomRates, options);
  return [fanOut, rooms];
}

function fallbackTargets(results: readonly FallbackLayoutResult[]): Target[] {
  return results.map((result) => {
    const median = result.pairs.find((pair) => pair.cpuRatio === result.medianCpuRatio);
    return {
      name: `fallback CPU per delivery, ${result.name}${median ? ` (${formatRate(median.offered)} deliveries/s)` : ''}`,
      app: median?.sse.serverUsPerDelivery ?? Number.NaN,
      baseline: median?.websocket.serverUsPerDelivery ?? Number.NaN,
      unit: 'µs',
      limit: FALLBACK_CPU_AIM,
      better: 'lower',
      note:
        'here the columns are the app over the fallback and the app over WebSockets, stepped in turns; the median pair of the rates both passed ' +
        `(ratios: ${result.pairs.map((pair) => `${pair.cpuRatio.toFixed(2)}×`).join(', ') || 'none'})`,
    } satisfies Target;
  });
}

function logTargets(targets: readonly Target[]): number {
  for (const target of targets) {
    const comparison = target.better === 'lower' ? '≤' : '≥';
    log(
      `  ${met(target) ? 'met   ' : 'MISSED'} ${target.name}: ${target.app.toFixed(3)} vs ${target.baseline.toFixed(3)} ${target.unit} = ${ratio(target).toFixed(2)}× (target ${comparison} ${target.limit}×)`,
    );
    if (target.note) log(`         ${target.note}`);
  }
  const missed = targets.filter((target) => !met(target)).length;
  log(missed === 0 ? '\nevery target met' : `\n${missed} of ${targets.length} targets missed`);
  return missed;
}

/** Writes bench/results/<date>-<mode>[-<suffix>].json and answers its path. */
function writeResults(startedAt: number, suffix: string, results: Record<string, unknown>): string {
  const folder = path.join(__dirname, 'results');
  mkdirSync(folder, { recursive: true });
  const stamp = new Date(startedAt).toISOString().replace(/[:]/g, '-').replace(/\..*$/, '');
  const file = path.join(folder, `${stamp}-${mode.name}${suffix}.json`);
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const machine = { cpu, cores: os.cpus().length, node: process.version, kernel: os.release(), pinned: hasTaskset() };
  writeFileSync(file, `${JSON.stringify({ mode: mode.name, startedAt: new Date(startedAt).toISOString(), machine, p99LimitMs: MAX_P99_MS, ...results }, null, 2)}\n`);
  return file;
}

/** `--only fallback`: the fallback scenario alone, its results in <date>-<mode>-fallback.json. */
async function fallbackOnly(): Promise<void> {
  ensureBuild();
  const startedAt = Date.now();
  log(`bench (${mode.name}, fallback only): ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} cores, Node ${process.version}; servers on core 0, generator on core 1`);
  log('\nfallback: the app over SSE and POSTs, then over WebSockets, at each rate');
  const fallback = await fallbackScenarios(log);
  log(`\nsummary (${mode.name} run, fallback only, ${((Date.now() - startedAt) / 1000).toFixed(0)} s)`);
  for (const line of fallbackSummary(fallback)) log(line);
  log('\ntargets (same run):');
  const targets = fallbackTargets(fallback);
  const missed = logTargets(targets);
  const file = writeResults(startedAt, '-fallback', {
    fallback: { layouts: fallback },
    targets: targets.map((target) => ({ ...target, ratio: ratio(target), met: met(target) })),
  });
  log(`results: ${path.relative(PROJECT_ROOT, file)}`);
  process.exitCode = missed === 0 ? 0 : 1;
}

async function main(): Promise<void> {
  ensureBuild();
  const startedAt = Date.now();
  const elapsed = (): string => `${((Date.now() - startedAt) / 1000).toFixed(0)} s`;
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  log(`bench (${mode.name}): ${cpu}, ${os.cpus().length} cores, Node ${process.version}; servers on core 0, generator on core 1`);

  log(`\n[${elapsed()}] fan-out: ${mode.fanOut.perRoom} clients in one room, one sender`);
  const fanOutBaseline = await withServer(startBaseline, (server) =>
    ladderScenario(server, 'fanout', { layout: mode.fanOut, senders: 'one', rates: mode.fanOutRates, timing: mode.timing, log }),
  );
  const fanOutApp = await withServer(startApp, (server) =>
    ladderScenario(server, 'fanout', { layout: mode.fanOut, senders: 'one', rates: mode.fanOutRates, timing: mode.timing, log }),
  );
  const baselineCapacity = fanOutBaseline.capacity?.rate ?? mode.fanOutRates[0]!;
  const half = Math.round(baselineCapacity / 2);
  log(`  latency at half the baseline's capacity: fresh servers, warmed up at ${half} messages/s, then stepped at it in turns`);
  const halfTurns = await withServers(startBaseline, () => startApp(), (baseline, app) =>
    stepsInTurns(baseline, app, 'half', { layout: mode.fanOut, senders: 'one', timing: mode.timing, log }, half, mode.halfRounds),
  );

  log(`\n[${elapsed()}] many rooms: ${mode.rooms.rooms} rooms of ${mode.rooms.perRoom}, every client sending`);
  const roomsBaseline = await withServer(startBaseline, (server) =>
    ladderScenario(server, 'rooms', { layout: mode.rooms, senders: 'all', rates: mode.roomRates, timing: mode.timing, log }),
  );
  const roomsApp = await withServer(startApp, (server) =>
    ladderScenario(server, 'rooms', { layout: mode.rooms, senders: 'all', rates: mode.roomRates, timing: mode.timing, log }),
  );

  const idleCount = mode.idle.rooms * mode.idle.perRoom;
  const roundCount = mode.connects.rooms * mode.connects.perRoom;
  log(`\n[${elapsed()}] idle: ${idleCount} connections in rooms of ${mode.idle.perRoom}, on servers just started; then connects`);
  // Memory on servers just started (see memoryScenario), the lower of `memoryRuns` readings of
  // each kind: what a burst of connects grows beyond what it keeps only ever adds. Then connects
  // on a fresh pair, taking turns.
  const memoryOf = async (start: Start): Promise<MemoryResult> => {
    let lowest: MemoryResult | null = null;
    for (let run = 0; run < mode.memoryRuns; run++) {
      const result = await withServer(start, async (server) => {
        const measured = await memoryScenario(server, mode.idle, mode.memoryReadings, mode.memoryStartupMs);
        log(`  ${server.name.padEnd(8)} ${(measured.bytesPerConnection / 1024).toFixed(1)} KiB per connection (${measured.coldConnectsPerSecond.toFixed(0)} connects/s while its code compiled)`);
        return measured;
      });
      if (lowest === null || result.bytesPerConnection < lowest.bytesPerConnection) lowest = result;
    }
    return lowest!;
  };
  const idleBaseline = await memoryOf(startBaseline);
  const idleApp = await memoryOf(() => startApp());
  log(
    `connects: ${mode.connectRounds} rounds of ${roundCount} clients in rooms of ${mode.connects.perRoom} per server, the servers in turns, ` +
      `after ${mode.connectWarmUpRounds} uncounted rounds each`,
  );
  const connects = await withServers(startBaseline, () => startApp(), async (baseline, app) => {
    const rounds = await connectRounds([baseline, app], mode.connects, mode.connectRounds, mode.connectWarmUpRounds);
    for (const [index, server] of [baseline, app].entries()) {
      const { median, rounds: each } = rounds[index]!;
      log(
        `  ${server.name.padEnd(8)} ${median.connectsPerSecond.toFixed(0)} connects/s (rounds: ${each.map((round) => round.connectsPerSecond.toFixed(0)).join(', ')}), ` +
          `${median.serverUsPerConnect.toFixed(0)} µs server CPU per connect, server ${(median.serverCpuShare * 100).toFixed(0)}%, generator ${(median.generatorCpuShare * 100).toFixed(0)}%`,
      );
    }
    return { baseline: rounds[0]!, app: rounds[1]! };
  });

  log(`\n[${elapsed()}] with Redis: two app processes and Redis on core 0, ${mode.fanOut.perRoom} clients split between them, one sender; each step followed by the same step on one app process`);
  const redis = await withServers(() => startApp(2), () => startApp(), (two, one) =>
    pairedLadder(two, one, 'redis', { layout: mode.fanOut, senders: 'one', rates: mode.fanOutRates, timing: mode.timing, log }),
  );

  log(`\n[${elapsed()}] fallback: the app over SSE and POSTs, then over WebSockets, at each rate`);
  const fallback = await fallbackScenarios(log);

  // ---- targets ----
  const baselineAtCapacity = atRate(fanOutBaseline, baselineCapacity);
  const appAtCapacity = atRate(fanOutApp, baselineCapacity);
  const halfPair = medianPair(halfTurns, (step) => step.p99Ms);
  const halfFailures = halfTurns.flatMap((pair) => [pair.reference, pair.subject]).filter((step) => !step.passed);
  const redisPair = medianPair(passedPairs(redis).slice(-3), (step) => step.serverUsPerDelivery);
  const targets: Target[] = [
    {
      name: `server CPU per delivery at the baseline's capacity (${formatRate(baselineCapacity * mode.fanOut.perRoom)} deliveries/s)`,
      app: appAtCapacity?.serverUsPerDelivery ?? Number.NaN,
      baseline: baselineAtCapacity?.serverUsPerDelivery ?? Number.NaN,
      unit: 'µs',
      limit: 0.7,
      better: 'lower',
      note: appAtCapacity && !appAtCapacity.passed ? `the app failed at this rate: ${failure(appAtCapacity)}` : undefined,
    },
    {
      name: 'server CPU per delivery at saturation',
      app: fanOutApp.saturation?.serverUsPerDelivery ?? Number.NaN,
      baseline: fanOutBaseline.saturation?.serverUsPerDelivery ?? Number.NaN,
      unit: 'µs',
      limit: 0.7,
      better: 'lower',
      note: `limit: app ${limitOf(fanOutApp.saturation)}; baseline ${limitOf(fanOutBaseline.saturation)}`,
    },
    {
      name: `p99 latency at half the baseline's capacity (${formatRate(half * mode.fanOut.perRoom)} deliveries/s)`,
      app: halfPair?.subject.p99Ms ?? Number.NaN,
      baseline: halfPair?.reference.p99Ms ?? Number.NaN,
      unit: 'ms',
      limit: 1.0,
      better: 'lower',
      note:
        `the median of ${halfTurns.length} rounds, each the baseline's step then the app's ` +
        `(p99 ms: ${halfTurns.map((pair) => `${pair.subject.p99Ms.toFixed(1)} vs ${pair.reference.p99Ms.toFixed(1)}`).join(', ')})` +
        (halfFailures.length > 0 ? `; ${halfFailures.length} of these steps failed: ${failure(halfFailures[0]!)}` : ''),
    },
    {
      name: `idle memory per connection (${idleCount} connections)`,
      app: idleApp.bytesPerConnection / 1024,
      baseline: idleBaseline.bytesPerConnection / 1024,
      unit: 'KiB',
      limit: 1.2,
      better: 'lower',
      note:
        mode.memoryStartupMs === 0
          ? 'quick run: read at once on one server of each kind, so what V8 grows its heap by in a burst (its young generation up to 32 MiB) counts; the full run is the measure'
          : `the lower of ${mode.memoryRuns} fresh servers of each kind: V8 grows its heap (its young generation up to 32 MiB) in a burst of connects by an amount that varies`,
    },
    {
      name: `connects per second (median of ${mode.connectRounds} rounds of ${roundCount}, warm servers)`,
      app: connects.app.median.connectsPerSecond,
      baseline: connects.baseline.median.connectsPerSecond,
      unit: '/s',
      limit: 0.8,
      better: 'higher',
      note:
        'the app counts a client connected once its join is done (welcome, history, presence), the baseline at the handshake; ' +
        `limit: app ${connectLimit(connects.app)}; baseline ${connectLimit(connects.baseline)}`,
    },
    {
      name: `two processes + Redis vs one process, CPU per delivery (${redisPair ? formatRate(redisPair.subject.offered) : 'no rate'} deliveries/s)`,
      app: redisPair?.subject.serverUsPerDelivery ?? Number.NaN,
      baseline: redisPair?.reference.serverUsPerDelivery ?? Number.NaN,
      unit: 'µs',
      limit: 1.3,
      better: 'lower',
      note:
        'here the "baseline" column is one app process, stepped right after at the same rate; the median pair of the three highest rates both passed ' +
        `(ratios: ${pairRatios(redis).map((ratio) => `${ratio.toFixed(2)}×`).join(', ') || 'none'})`,
    },
    ...fallbackTargets(fallback),
  ];

  log(`\nsummary (${mode.name} run, ${((Date.now() - startedAt) / 1000).toFixed(0)} s)`);
  const capacityLine = (name: string, ladder: LadderResult): string => {
    const capacity = ladder.capacity;
    return capacity
      ? `  ${name.padEnd(16)} ${formatRate(capacity.offered).padStart(8)} deliveries/s, p50 ${capacity.p50Ms.toFixed(2)} ms, p99 ${capacity.p99Ms.toFixed(2)} ms, ${capacity.serverUsPerDelivery.toFixed(3)} µs/delivery`
      : `  ${name.padEnd(16)} no rate passed`;
  };
  log('highest passing rate, fan-out:');
  log(capacityLine('baseline', fanOutBaseline));
  log(capacityLine('app', fanOutApp));
  log(capacityLine('app ×2 + redis', redis.subject));
  log(`  app / baseline: ${((fanOutApp.capacity?.offered ?? 0) / (fanOutBaseline.capacity?.offered ?? 1)).toFixed(2)}×`);
  log('highest passing rate, many rooms:');
  log(capacityLine('baseline', roomsBaseline));
  log(capacityLine('app', roomsApp));
  log(`  app / baseline: ${((roomsApp.capacity?.offered ?? 0) / (roomsBaseline.capacity?.offered ?? 1)).toFixed(2)}×`);
  const roomsBaseCap = roomsBaseline.capacity;
  const roomsAppAtBaseCap = roomsBaseCap ? atRate(roomsApp, roomsBaseCap.rate) : undefined;
  if (roomsBaseCap && roomsAppAtBaseCap) {
    log(
      `  CPU per delivery at the baseline's capacity: app ${roomsAppAtBaseCap.serverUsPerDelivery.toFixed(3)} µs, baseline ${roomsBaseCap.serverUsPerDelivery.toFixed(3)} µs (${(roomsAppAtBaseCap.serverUsPerDelivery / roomsBaseCap.serverUsPerDelivery).toFixed(2)}×)`,
    );
  }
  for (const line of fallbackSummary(fallback)) log(line);
  log('\ntargets (app / baseline, same run):');
  const missed = logTargets(targets);

  const file = writeResults(startedAt, '', {
    fanOut: { layout: mode.fanOut, baseline: fanOutBaseline, app: fanOutApp, half: { rate: half, turns: halfTurns } },
    redis: { layout: mode.fanOut, twoProcesses: redis.subject, oneProcess: redis.reference },
    rooms: { layout: mode.rooms, baseline: roomsBaseline, app: roomsApp },
    idle: { layout: mode.idle, baseline: idleBaseline, app: idleApp },
    connects: { layout: mode.connects, ...connects },
    fallback: { layouts: fallback },
    targets: targets.map((target) => ({ ...target, ratio: ratio(target), met: met(target) })),
  });
  const folder = path.join(__dirname, 'results');
  const colors = { baseline: '#888', app: '#1565c0', redis: '#2e7d32' };
  writeFileSync(
    path.join(folder, `fan-out-${mode.name}.svg`),
    latencyChart(
      `Fan-out: ${mode.fanOut.perRoom} clients in one room (${mode.name} run)`,
      [lines('baseline (naive ws)', colors.baseline, fanOutBaseline), lines('app', colors.app, fanOutApp), lines('app ×2 + Redis', colors.redis, redis.subject)],
      MAX_P99_MS,
    ),
  );
  writeFileSync(
    path.join(folder, `many-rooms-${mode.name}.svg`),
    latencyChart(
      `Many rooms: ${mode.rooms.rooms} rooms of ${mode.rooms.perRoom}, everyone sending (${mode.name} run)`,
      [lines('baseline (naive ws)', colors.baseline, roomsBaseline), lines('app', colors.app, roomsApp)],
      MAX_P99_MS,
    ),
  );
  log(`results: ${path.relative(PROJECT_ROOT, file)}, charts: bench/results/fan-out-${mode.name}.svg, many-rooms-${mode.name}.svg`);
  process.exitCode = missed === 0 ? 0 : 1;
}

function hasTaskset(): boolean {
  try {
    execFileSync('taskset', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

(values.only === 'fallback' ? fallbackOnly() : main()).catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(2);
});

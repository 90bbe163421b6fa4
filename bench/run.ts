/**
 * `npm run bench [-- --quick] [--only <scenario>[,<scenario>]] [--cpu-prof <folder>]`: the app
 * against a naive raw `ws` broadcast server, with Socket.IO and Bun beside them as anchors, in one
 * run, on this machine; and the app's HTTP fallback against its WebSockets. `--only` (repeatable,
 * or comma-separated) runs some scenarios alone: fanout, rooms, memory, connects, redis, cluster
 * (two processes on a Redis Cluster of three primaries), fallback, storm (5,000 clients back at
 * once after a restart, resuming: the app alone), mix (a realistic mix of everything the product
 * does, the rate limit on, against the naive server doing its messages alone: bench/mix.ts).
 * Each server runs pinned to core 0 and the load generator to core 1 (where `taskset` exists);
 * every figure is printed beside the naive server's, as a ratio, with the targets and which side
 * was the limit. Results go to bench/results/<date>-<mode>[-<only>].json and SVG charts.
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
  type LadderOptions,
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
import { mixScenario, type MixResult } from './mix';
import { MIX_MODES, type MixOptions } from './mix-plan';
import { startApp, startBaseline, startBun, startSocketIo, type ServerUnderTest } from './servers';
import { stormScenario, type StormResult } from './storm';
import { logTargets, type PerServer, savedTarget, SERVER_KEYS, SERVER_LABELS, type ServerKey, type Target } from './targets';

interface Mode {
  readonly name: 'full' | 'quick';
  readonly fanOut: RoomLayout;
  readonly rooms: RoomLayout;
  readonly idle: RoomLayout;
  /** The clients of one round of connects, how many rounds each server gets, and how many of them first go uncounted. */
  readonly connects: RoomLayout;
  /** The clients of the reconnect storm. */
  readonly storm: RoomLayout;
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
  /** Rounds of the latency comparisons at one rate (fan-out at `fanOutFixedRate`, many rooms at half the baseline's capacity), the servers in turns. */
  readonly turnRounds: number;
  /** Messages per second of the one-room latency comparison: 100 into 500 members is 50k deliveries/s, an ordinary load. */
  readonly fanOutFixedRate: number;
  readonly roomRates: readonly number[];
  /** The rates (messages/s) at which the fallback and WebSockets are stepped in turns, in each layout. */
  readonly fallbackFanOutRates: readonly number[];
  readonly fallbackRoomRates: readonly number[];
  readonly timing: Timing;
  /** The realistic mix: its rooms, rate, window and churn. */
  readonly mix: MixOptions;
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
    storm: { rooms: 500, perRoom: 10 },
    connectRounds: 5,
    connectWarmUpRounds: 4,
    memoryRuns: 2,
    memoryReadings: 4,
    memoryStartupMs: 12_000,
    fanOutRates: geometric(100, 1.25, 30),
    turnRounds: 5,
    fanOutFixedRate: 100,
    roomRates: geometric(1000, 1.25, 30),
    fallbackFanOutRates: geometric(100, 2, 5),
    fallbackRoomRates: geometric(1000, 2, 4),
    timing: { stepMs: 3000, drainMs: 2000, warmUpMs: 15_000 },
    mix: MIX_MODES.full,
  },
  quick: {
    name: 'quick',
    ...LAYOUTS,
    idle: { rooms: 100, perRoom: 10 },
    connects: { rooms: 100, perRoom: 10 },
    storm: { rooms: 100, perRoom: 10 },
    connectRounds: 2,
    connectWarmUpRounds: 1,
    memoryRuns: 1,
    memoryReadings: 2,
    memoryStartupMs: 0,
    fanOutRates: geometric(100, 2, 9),
    turnRounds: 1,
    fanOutFixedRate: 100,
    roomRates: geometric(2000, 2, 8),
    fallbackFanOutRates: geometric(100, 4, 3),
    fallbackRoomRates: geometric(1000, 4, 2),
    timing: { stepMs: 400, drainMs: 400, warmUpMs: 400 },
    mix: MIX_MODES.quick,
  },
};

const SCENARIOS = ['fanout', 'rooms', 'memory', 'connects', 'redis', 'cluster', 'fallback', 'storm', 'mix'] as const;
type Scenario = (typeof SCENARIOS)[number];

const { values } = parseArgs({
  options: { quick: { type: 'boolean', default: false }, only: { type: 'string', multiple: true }, 'cpu-prof': { type: 'string' } },
});
const mode = MODES[values.quick ? 'quick' : 'full'];
const only = (values.only ?? []).flatMap((value) => value.split(',')).map((value) => value.trim()).filter(Boolean);
for (const name of only) {
  if (!(SCENARIOS as readonly string[]).includes(name)) throw new Error(`--only takes ${SCENARIOS.join(', ')}; not "${name}"`);
}
const selected = (scenario: Scenario): boolean => only.length === 0 || only.includes(scenario);
if (values['cpu-prof']) process.env.BENCH_CPU_PROF_DIR = path.resolve(values['cpu-prof']);
const log = (line: string): void => void process.stdout.write(`${line}\n`);

type Start = () => Promise<ServerUnderTest>;

/** The servers every ladder, memory and connects scenario runs, the naive one first (the reference). */
const CONTENDERS: readonly { readonly key: ServerKey; readonly start: Start }[] = [
  { key: 'baseline', start: startBaseline },
  { key: 'app', start: () => startApp() },
  { key: 'socketio', start: startSocketIo },
  { key: 'bun', start: startBun },
];

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

async function withServer<T>(start: Start, work: (server: ServerUnderTest) => Promise<T>): Promise<T> {
  const server = await start();
  try {
    return await work(server);
  } finally {
    await server.stop();
  }
}

/** Several set-ups up at once (the others idle while one is measured), stopped after `work`. */
async function withServers<T>(starts: readonly Start[], work: (servers: ServerUnderTest[]) => Promise<T>): Promise<T> {
  const servers: ServerUnderTest[] = [];
  try {
    for (const start of starts) servers.push(await start());
    return await work(servers);
  } finally {
    for (const server of servers.reverse()) await server.stop();
  }
}

/** `work` on a fresh server of each contender, one after the other. */
async function eachContender<T>(work: (server: ServerUnderTest) => Promise<T>): Promise<PerServer<T>> {
  const results: { [key in ServerKey]?: T } = {};
  for (const contender of CONTENDERS) results[contender.key] = await withServer(contender.start, work);
  return results;
}

/** The steps of rounds in turns, by server. */
function turnsByServer(turns: readonly StepResult[][]): PerServer<StepResult[]> {
  return Object.fromEntries(CONTENDERS.map((contender, index) => [contender.key, turns.map((round) => round[index]!)]));
}

function mapServers<T, U>(values: PerServer<T>, work: (value: T) => U): PerServer<U> {
  const results: { [key in ServerKey]?: U } = {};
  for (const key of SERVER_KEYS) {
    const value = values[key];
    if (value !== undefined) results[key] = work(value);
  }
  return results;
}

function atRate(ladder: LadderResult | undefined, rate: number): StepResult | undefined {
  return ladder?.steps.find((step) => step.rate === rate);
}

/**
 * Server CPU per delivery at `rate` (the naive server's capacity), the naive server and the app
 * stepped there in turns, fresh and warmed up at it, the median pair of `mode.turnRounds` rounds.
 * The ladders run one server after another, minutes apart, and this machine's speed drifts by tens
 * of percent over minutes: in one run the naive server's ladder took 17.9 µs a delivery at a rate
 * where its turns a few minutes later took 9.7 to 11.2. The anchors are not stepped in turns here
 * (one that fails at this rate would still be working off its backlog during the next server's
 * step, all of them on core 0): each keeps its ladder's ratio to the naive server's ladder at this
 * rate, scaled to the naive server's figure from the turns.
 */
async function cpuInTurns(
  prefix: string,
  ladders: PerServer<LadderResult>,
  options: Omit<LadderOptions, 'rates'>,
  rate: number,
  deliveriesPerMessage: number,
): Promise<{ readonly values: PerServer<number>; readonly note: string; readonly turns: PerServer<StepResult[]> }> {
  log(
    `  CPU at the baseline's capacity (${formatRate(rate * deliveriesPerMessage)} deliveries/s): fresh naive ws and app servers, ` +
      `warmed up at ${rate} messages/s, then stepped at it in turns`,
  );
  const starts = (['baseline', 'app'] as const).map((key) => CONTENDERS.find((contender) => contender.key === key)!.start);
  const turns = await withServers(starts, (started) => stepsInTurns(started, prefix, options, rate, mode.turnRounds));
  const cpu = (step: StepResult): number => step.serverUsPerDelivery;
  const pair = medianPair(
    turns.map(([reference, subject]) => ({ subject: subject!, reference: reference! })),
    cpu,
  )!;
  const values: { [key in ServerKey]?: number } = { baseline: cpu(pair.reference), app: cpu(pair.subject) };
  const ladderBaseline = atRate(ladders.baseline, rate);
  for (const key of ['socketio', 'bun'] as const) {
    const step = atRate(ladders[key], rate);
    if (step && ladderBaseline) values[key] = (cpu(step) / cpu(ladderBaseline)) * values.baseline!;
  }
  const note =
    `${turnsNote(turns, cpu, 'µs per delivery', ['baseline', 'app'])}; ` +
    `the anchors' ratios from their ladders, where naive ws took ${ladderBaseline ? cpu(ladderBaseline).toFixed(2) : 'n/a'} µs at this rate`;
  return { values, note, turns: { baseline: turns.map((round) => round[0]!), app: turns.map((round) => round[1]!) } };
}

/** Which side was the bound at a step: the one nearer to a whole core. */
function limitOf(step: StepResult | null | undefined): string {
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

/**
 * The figures of rounds in turns: the app's and the naive server's from the round whose app /
 * naive ratio is the median (so a stall in one round counts once); each anchor's is its own
 * median round's ratio to the naive server, scaled by that naive figure.
 */
function medianOfTurns(turns: readonly StepResult[][], measure: (step: StepResult) => number): PerServer<number> {
  const pairsOf = (index: number): StepPair[] => turns.map((round) => ({ subject: round[index]!, reference: round[0]! }));
  const appPair = medianPair(pairsOf(CONTENDERS.findIndex((contender) => contender.key === 'app')), measure);
  if (!appPair) return {};
  const baseline = measure(appPair.reference);
  const figures: { [key in ServerKey]?: number } = { baseline, app: measure(appPair.subject) };
  CONTENDERS.forEach((contender, index) => {
    if (contender.key === 'baseline' || contender.key === 'app') return;
    const pair = medianPair(pairsOf(index), measure)!;
    figures[contender.key] = (measure(pair.subject) / measure(pair.reference)) * baseline;
  });
  return figures;
}

/** What rounds in turns measured; `keys` are the servers of each round, in its order. */
function turnsNote(
  turns: readonly StepResult[][],
  measure: (step: StepResult) => number,
  unit: string,
  keys: readonly ServerKey[] = CONTENDERS.map((contender) => contender.key),
): string {
  const failures = turns.flat().filter((step) => !step.passed);
  const rounds = turns.map((round) => round.map((step) => measure(step).toFixed(1)).join(' / ')).join(', ');
  return (
    `the median of ${turns.length} round(s), each the servers in turns (${keys.map((key) => SERVER_LABELS[key]).join(' / ')}, ${unit}: ${rounds})` +
    (failures.length > 0 ? `; ${failures.length} of these steps failed: ${failure(failures[0]!)}` : '')
  );
}

function connectLimit(result: ConnectResult | undefined): string {
  if (!result) return 'n/a';
  const { serverCpuShare, generatorCpuShare } = result.median;
  const side = generatorCpuShare > serverCpuShare ? 'generator' : 'server';
  return `${side} (server ${(serverCpuShare * 100).toFixed(0)}%, generator ${(generatorCpuShare * 100).toFixed(0)}% of a core)`;
}

const COLORS: Readonly<Record<ServerKey, string>> = { baseline: '#888', app: '#1565c0', socketio: '#ef6c00', bun: '#6a1b9a' };

function lines(key: ServerKey, ladder: LadderResult | undefined): ChartSeries[] {
  if (!ladder) return [];
  const name = key === 'baseline' ? 'baseline (naive ws)' : SERVER_LABELS[key];
  return [{ name, color: COLORS[key], points: ladder.steps.map((step) => ({ x: step.offered, y: step.p99Ms, passed: step.passed })) }];
}

/** Both layouts over the fallback and over WebSockets, in turns. */
async function fallbackScenarios(): Promise<FallbackLayoutResult[]> {
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
      values: { app: median?.sse.serverUsPerDelivery ?? Number.NaN, baseline: median?.websocket.serverUsPerDelivery ?? Number.NaN },
      unit: 'µs',
      limit: FALLBACK_CPU_AIM,
      better: 'lower',
      note:
        'here the columns are the app over the fallback and the app over WebSockets, stepped in turns; the median pair of the rates both passed ' +
        `(ratios: ${result.pairs.map((pair) => `${pair.cpuRatio.toFixed(2)}×`).join(', ') || 'none'})`,
    } satisfies Target;
  });
}

/** Writes bench/results/<date>-<mode>[-<suffix>].json and answers its path. */
function writeResults(startedAt: number, suffix: string, results: Record<string, unknown>): string {
  const folder = path.join(__dirname, 'results');
  mkdirSync(folder, { recursive: true });
  const stamp = new Date(startedAt).toISOString().replace(/[:]/g, '-').replace(/\..*$/, '');
  const file = path.join(folder, `${stamp}-${mode.name}${suffix}.json`);
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const machine = { cpu, cores: os.cpus().length, node: process.version, kernel: os.release(), pinned: hasTaskset() };
  writeFileSync(file, `${JSON.stringify({ mode: mode.name, startedAt: new Date(startedAt).toISOString(), only, machine, p99LimitMs: MAX_P99_MS, ...results }, null, 2)}\n`);
  return file;
}

/** One line per server of a ladder: its highest passing rate, and its ratio to the naive server's. */
function capacityLines(ladders: PerServer<LadderResult>): string[] {
  const baseline = ladders.baseline?.capacity?.offered;
  return SERVER_KEYS.filter((key) => ladders[key] !== undefined).map((key) => {
    const capacity = ladders[key]!.capacity;
    if (!capacity) return `  ${SERVER_LABELS[key].padEnd(16)} no rate passed`;
    const versus = baseline && key !== 'baseline' ? ` = ${(capacity.offered / baseline).toFixed(2)}× naive` : '';
    return (
      `  ${SERVER_LABELS[key].padEnd(16)} ${formatRate(capacity.offered).padStart(8)} deliveries/s${versus}, p50 ${capacity.p50Ms.toFixed(2)} ms, ` +
      `p99 ${capacity.p99Ms.toFixed(2)} ms, ${capacity.serverUsPerDelivery.toFixed(3)} µs/delivery`
    );
  });
}

async function main(): Promise<void> {
  ensureBuild();
  const startedAt = Date.now();
  const elapsed = (): string => `${((Date.now() - startedAt) / 1000).toFixed(0)} s`;
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const contended = (['fanout', 'rooms', 'memory', 'connects'] as const).some(selected);
  const servers = contended ? CONTENDERS.map((contender) => SERVER_LABELS[contender.key]).join(', ') : 'servers';
  log(
    `bench (${mode.name}${only.length > 0 ? `, only ${only.join(', ')}` : ''}): ${cpu}, ${os.cpus().length} cores, Node ${process.version}; ` +
      `${servers} on core 0, generator on core 1`,
  );
  const targets: Target[] = [];
  const results: Record<string, unknown> = {};
  const summary: string[] = [];
  const folder = path.join(__dirname, 'results');
  const charts: string[] = [];

  if (selected('fanout')) {
    log(`\n[${elapsed()}] fan-out: ${mode.fanOut.perRoom} clients in one room, one sender`);
    const ladders = await eachContender((server) =>
      ladderScenario(server, 'fanout', { layout: mode.fanOut, senders: 'one', rates: mode.fanOutRates, timing: mode.timing, log }),
    );
    const fixed = mode.fanOutFixedRate;
    log(`  latency at ${formatRate(fixed * mode.fanOut.perRoom)} deliveries/s: fresh servers, warmed up at ${fixed} messages/s, then stepped at it in turns`);
    const turns = await withServers(
      CONTENDERS.map((contender) => contender.start),
      (started) => stepsInTurns(started, 'fixed', { layout: mode.fanOut, senders: 'one', timing: mode.timing, log }, fixed, mode.turnRounds),
    );
    const baselineCapacity = ladders.baseline?.capacity?.rate ?? mode.fanOutRates[0]!;
    const cpu = await cpuInTurns('fanout-cpu', ladders, { layout: mode.fanOut, senders: 'one', timing: mode.timing, log }, baselineCapacity, mode.fanOut.perRoom);
    targets.push(
      {
        name: `one room: server CPU per delivery at the baseline's capacity (${formatRate(baselineCapacity * mode.fanOut.perRoom)} deliveries/s)`,
        values: cpu.values,
        unit: 'µs',
        limit: 0.7,
        better: 'lower',
        note: cpu.note,
      },
      {
        name: 'one room: server CPU per delivery at saturation',
        values: mapServers(ladders, (ladder) => ladder.saturation?.serverUsPerDelivery ?? Number.NaN),
        unit: 'µs',
        limit: 0.7,
        better: 'lower',
        note: `limit: ${SERVER_KEYS.filter((key) => ladders[key]).map((key) => `${SERVER_LABELS[key]} ${limitOf(ladders[key]!.saturation)}`).join('; ')}`,
      },
      {
        name: `one room: p99 latency at ${formatRate(fixed * mode.fanOut.perRoom)} deliveries/s`,
        values: medianOfTurns(turns, (step) => step.p99Ms),
        unit: 'ms',
        limit: 1.0,
        better: 'lower',
        note: turnsNote(turns, (step) => step.p99Ms, 'p99 ms'),
      },
    );
    summary.push('highest passing rate, one room:', ...capacityLines(ladders));
    results.fanOut = { layout: mode.fanOut, ladders, capacity: { rate: baselineCapacity, turns: cpu.turns }, fixed: { rate: fixed, turns: turnsByServer(turns) } };
    const file = `fan-out-${mode.name}.svg`;
    writeFileSync(
      path.join(folder, file),
      latencyChart(`Fan-out: ${mode.fanOut.perRoom} clients in one room (${mode.name} run)`, SERVER_KEYS.flatMap((key) => lines(key, ladders[key])), MAX_P99_MS),
    );
    charts.push(file);
  }

  if (selected('rooms')) {
    log(`\n[${elapsed()}] many rooms: ${mode.rooms.rooms} rooms of ${mode.rooms.perRoom}, every client sending`);
    const ladders = await eachContender((server) =>
      ladderScenario(server, 'rooms', { layout: mode.rooms, senders: 'all', rates: mode.roomRates, timing: mode.timing, log }),
    );
    const baselineCapacity = ladders.baseline?.capacity?.rate ?? mode.roomRates[0]!;
    const half = Math.round(baselineCapacity / 2);
    log(`  latency at half the baseline's capacity (${formatRate(half * mode.rooms.perRoom)} deliveries/s): fresh servers, warmed up at ${half} messages/s, then stepped at it in turns`);
    const turns = await withServers(
      CONTENDERS.map((contender) => contender.start),
      (started) => stepsInTurns(started, 'rooms-half', { layout: mode.rooms, senders: 'all', timing: mode.timing, log }, half, mode.turnRounds),
    );
    const cpu = await cpuInTurns('rooms-cpu', ladders, { layout: mode.rooms, senders: 'all', timing: mode.timing, log }, baselineCapacity, mode.rooms.perRoom);
    targets.push(
      {
        name: `many rooms: server CPU per delivery at the baseline's capacity (${formatRate(baselineCapacity * mode.rooms.perRoom)} deliveries/s)`,
        values: cpu.values,
        unit: 'µs',
        limit: 0.7,
        better: 'lower',
        note: cpu.note,
      },
      {
        name: `many rooms: p99 latency at half the baseline's capacity (${formatRate(half * mode.rooms.perRoom)} deliveries/s)`,
        values: medianOfTurns(turns, (step) => step.p99Ms),
        unit: 'ms',
        limit: 1.0,
        better: 'lower',
        note: turnsNote(turns, (step) => step.p99Ms, 'p99 ms'),
      },
    );
    summary.push('highest passing rate, many rooms:', ...capacityLines(ladders));
    results.rooms = { layout: mode.rooms, ladders, capacity: { rate: baselineCapacity, turns: cpu.turns }, half: { rate: half, turns: turnsByServer(turns) } };
    const file = `many-rooms-${mode.name}.svg`;
    writeFileSync(
      path.join(folder, file),
      latencyChart(
        `Many rooms: ${mode.rooms.rooms} rooms of ${mode.rooms.perRoom}, everyone sending (${mode.name} run)`,
        SERVER_KEYS.flatMap((key) => lines(key, ladders[key])),
        MAX_P99_MS,
      ),
    );
    charts.push(file);
  }

  if (selected('memory')) {
    const idleCount = mode.idle.rooms * mode.idle.perRoom;
    log(`\n[${elapsed()}] idle: ${idleCount} connections in rooms of ${mode.idle.perRoom} after ${idleCount} more, on servers just started`);
    // Memory on servers just started (see memoryScenario), the lower of `memoryRuns` readings of
    // each kind: what a burst of connects grows beyond what it keeps only ever adds.
    const idle: { [key in ServerKey]?: MemoryResult } = {};
    for (const contender of CONTENDERS) {
      for (let run = 0; run < mode.memoryRuns; run++) {
        const result = await withServer(contender.start, async (server) => {
          const measured = await memoryScenario(server, mode.idle, mode.memoryReadings, mode.memoryStartupMs);
          log(`  ${server.name.padEnd(8)} ${(measured.bytesPerConnection / 1024).toFixed(1)} KiB per connection (${measured.coldConnectsPerSecond.toFixed(0)} connects/s while its code compiled)`);
          return measured;
        });
        const lowest = idle[contender.key];
        if (lowest === undefined || result.bytesPerConnection < lowest.bytesPerConnection) idle[contender.key] = result;
      }
    }
    targets.push({
      name: `idle memory per connection (${idleCount} connections after ${idleCount})`,
      values: mapServers(idle, (result) => result.bytesPerConnection / 1024),
      unit: 'KiB',
      limit: 0.8,
      better: 'lower',
      note:
        mode.memoryStartupMs === 0
          ? 'quick run: one server of each kind, started a moment before; the full run is the measure'
          : `the lower of ${mode.memoryRuns} fresh servers of each kind, over the second batch of connections: the first grows V8's young generation (up to 32 MiB) by an amount that depends on what it was before`,
    });
    results.idle = { layout: mode.idle, servers: idle };
  }

  if (selected('connects')) {
    const roundCount = mode.connects.rooms * mode.connects.perRoom;
    log(
      `\n[${elapsed()}] connects: ${mode.connectRounds} rounds of ${roundCount} clients in rooms of ${mode.connects.perRoom} per server, the servers in turns, ` +
        `after ${mode.connectWarmUpRounds} uncounted rounds each`,
    );
    const connects = await withServers(
      CONTENDERS.map((contender) => contender.start),
      async (started) => {
        const rounds = await connectRounds(started, mode.connects, mode.connectRounds, mode.connectWarmUpRounds);
        const byServer: { [key in ServerKey]?: ConnectResult } = {};
        for (const [index, server] of started.entries()) {
          const { median, rounds: each } = rounds[index]!;
          log(
            `  ${server.name.padEnd(8)} ${median.connectsPerSecond.toFixed(0)} connects/s (rounds: ${each.map((round) => round.connectsPerSecond.toFixed(0)).join(', ')}), ` +
              `${median.serverUsPerConnect.toFixed(0)} µs server CPU per connect, server ${(median.serverCpuShare * 100).toFixed(0)}%, generator ${(median.generatorCpuShare * 100).toFixed(0)}%`,
          );
          byServer[CONTENDERS[index]!.key] = rounds[index]!;
        }
        return byServer;
      },
    );
    targets.push({
      name: `connects per second (median of ${mode.connectRounds} rounds of ${roundCount}, warm servers)`,
      values: mapServers(connects, (result) => result.median.connectsPerSecond),
      unit: '/s',
      limit: 1.0,
      better: 'higher',
      note:
        'the app counts a client connected once its join is done (welcome, history, presence), the others at the handshake; ' +
        `limit: ${SERVER_KEYS.filter((key) => connects[key]).map((key) => `${SERVER_LABELS[key]} ${connectLimit(connects[key])}`).join('; ')}`,
    });
    results.connects = { layout: mode.connects, servers: connects };
  }

  if (selected('redis')) {
    log(`\n[${elapsed()}] with Redis: two app processes and Redis on core 0, ${mode.fanOut.perRoom} clients split between them, one sender; each step followed by the same step on one app process`);
    const redis = await withServers([() => startApp(2), () => startApp()], ([two, one]) =>
      pairedLadder(two!, one!, 'redis', { layout: mode.fanOut, senders: 'one', rates: mode.fanOutRates, timing: mode.timing, log }),
    );
    const redisPair = medianPair(passedPairs(redis).slice(-3), (step) => step.serverUsPerDelivery);
    targets.push({
      name: `two processes + Redis vs one process, CPU per delivery (${redisPair ? formatRate(redisPair.subject.offered) : 'no rate'} deliveries/s)`,
      values: { app: redisPair?.subject.serverUsPerDelivery ?? Number.NaN, baseline: redisPair?.reference.serverUsPerDelivery ?? Number.NaN },
      unit: 'µs',
      limit: 1.3,
      better: 'lower',
      note:
        'here the "baseline" column is one app process, stepped right after at the same rate; the median pair of the three highest rates both passed ' +
        `(ratios: ${pairRatios(redis).map((ratio) => `${ratio.toFixed(2)}×`).join(', ') || 'none'})`,
    });
    summary.push('highest passing rate, one room, two app processes + Redis:', ...capacityLines({ app: redis.subject }));
    results.redis = { layout: mode.fanOut, twoProcesses: redis.subject, oneProcess: redis.reference };
  }

  if (selected('cluster')) {
    log(
      `\n[${elapsed()}] with a Redis Cluster: two app processes and three Redis primaries (sharded pub/sub) on core 0, ${mode.fanOut.perRoom} clients split ` +
        'between the processes, one sender; each step followed by the same step on one app process',
    );
    const onCluster = await withServers([() => startApp(2, 'cluster'), () => startApp()], ([two, one]) =>
      pairedLadder(two!, one!, 'cluster', { layout: mode.fanOut, senders: 'one', rates: mode.fanOutRates, timing: mode.timing, log }),
    );
    const clusterPair = medianPair(passedPairs(onCluster).slice(-3), (step) => step.serverUsPerDelivery);
    targets.push({
      name: `two processes + Redis Cluster vs one process, CPU per delivery (${clusterPair ? formatRate(clusterPair.subject.offered) : 'no rate'} deliveries/s)`,
      values: { app: clusterPair?.subject.serverUsPerDelivery ?? Number.NaN, baseline: clusterPair?.reference.serverUsPerDelivery ?? Number.NaN },
      unit: 'µs',
      limit: 1.3,
      better: 'lower',
      note:
        'here the "baseline" column is one app process, stepped right after at the same rate; the median pair of the three highest rates both passed ' +
        `(ratios: ${pairRatios(onCluster).map((ratio) => `${ratio.toFixed(2)}×`).join(', ') || 'none'})`,
    });
    summary.push('highest passing rate, one room, two app processes + Redis Cluster:', ...capacityLines({ app: onCluster.subject }));
    results.cluster = { layout: mode.fanOut, twoProcesses: onCluster.subject, oneProcess: onCluster.reference };
  }

  if (selected('fallback')) {
    log(`\n[${elapsed()}] fallback: the app over SSE and POSTs, then over WebSockets, at each rate`);
    const fallback = await fallbackScenarios();
    targets.push(...fallbackTargets(fallback));
    summary.push(...fallbackSummary(fallback));
    results.fallback = { layouts: fallback };
  }

  let stormFailed = false;
  if (selected('storm')) {
    log(`\n[${elapsed()}] reconnect storm: ${mode.storm.rooms * mode.storm.perRoom} clients of the app back at once after a restart, resuming`);
    const storm: StormResult = await stormScenario(mode.storm, log);
    stormFailed = storm.missing > 0 || storm.duplicates > 0;
    summary.push(
      `reconnect storm, ${storm.clients} clients (${storm.away} with messages to catch up on): all back in ${(storm.backMs / 1000).toFixed(2)} s ` +
        `(${storm.connectsPerSecond.toFixed(0)} connects/s), caught up in ${(storm.caughtUpMs / 1000).toFixed(2)} s, server CPU ${(storm.serverCpuMs / 1000).toFixed(2)} s; ` +
        `${storm.missing === 0 && storm.duplicates === 0 ? 'nothing lost, nothing twice' : `FAILED: ${storm.missing} missing, ${storm.duplicates} twice`}`,
    );
    results.storm = storm;
  }

  let mixFailed = false;
  if (selected('mix')) {
    const { mix } = mode;
    log(
      `\n[${elapsed()}] realistic mix: ${mix.clients} connections in Zipf-sized rooms (up to ${mix.largestRoom}), accounts, private rooms and direct messages, ` +
        `${mix.rate} messages/s for ${mix.windowMs / 1000} s with typing, read markers, leaves, resumes and joins, the rate limit on; then the naive server with the messages only`,
    );
    const result: MixResult = await mixScenario(mix, log);
    mixFailed = result.failures.length > 0;
    const { app, baseline } = result;
    const fmt = (value: number): string => (Number.isFinite(value) ? value.toFixed(1) : 'n/a');
    summary.push(
      `realistic mix, ${app.setup.connections} connections in ${app.setup.rooms} rooms, ${mix.rate} messages/s for ${mix.windowMs / 1000} s: ` +
        `app ${app.serverUsPerMessage.toFixed(0)} µs server CPU per message, ${app.serverUsPerDelivery.toFixed(2)} µs per delivery ` +
        `(${(app.serverCpuShare * 100).toFixed(0)}% of a core); p50 ${fmt(app.run.p50Ms)} ms, p99 ${fmt(app.run.p99Ms)} ms; ` +
        `join (connect + history) p99 ${fmt(app.run.joinP99Ms)} ms, resume p99 ${fmt(app.run.resumeP99Ms)} ms; ` +
        `${mixFailed ? `FAILED: ${result.failures.join(', ')}` : 'nothing lost, nothing twice, no rate_limited'}`,
      `  CPU per delivery against the naive server doing the messages of the mix only (no accounts, typing, reads, history, presence, churn): ` +
        `${app.serverUsPerDelivery.toFixed(2)} vs ${baseline.serverUsPerDelivery.toFixed(2)} µs = ${result.cpuPerDeliveryRatio.toFixed(2)}×`,
    );
    results.mix = result;
  }

  log(`\nsummary (${mode.name} run${only.length > 0 ? `, only ${only.join(', ')}` : ''}, ${elapsed()})`);
  for (const line of summary) log(line);
  log(`\ntargets (app / naive ws, same run; ${CONTENDERS.length > 2 ? 'the anchors\' ratios beside' : 'no anchors'}):`);
  const missed = logTargets(targets, log);
  const file = writeResults(startedAt, only.length > 0 ? `-${only.join('-')}` : '', { ...results, targets: targets.map(savedTarget) });
  log(`results: ${path.relative(PROJECT_ROOT, file)}${charts.length > 0 ? `, charts: ${charts.map((chart) => `bench/results/${chart}`).join(', ')}` : ''}`);
  process.exitCode = missed === 0 && !stormFailed && !mixFailed ? 0 : 1;
}

function hasTaskset(): boolean {
  try {
    execFileSync('taskset', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(2);
});

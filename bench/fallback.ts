/**
 * The HTTP fallback against WebSockets: the app's production build on two fresh processes, one
 * whose clients connect over the fallback (an event stream down, POSTs up) and one whose clients
 * use WebSockets, stepped in turns at the same rates (each WebSocket step right after the
 * fallback's step at that rate), in one big room and in many rooms.
 *
 * Every client of a room sends in turn, in both layouts and on both transports: the server
 * takes at most 100 POSTs in 10 s from one fallback connection, so a single sender of hundreds
 * of messages a second is not a client the fallback serves.
 */
import { formatRate, MAX_P99_MS, pairedLadder, type LadderResult, type RoomLayout, type StepResult, type Timing } from './scenarios';
import { startApp, type ServerUnderTest } from './servers';

/** The aim: the fallback's server CPU per delivery at most this many times the WebSocket's, at the same rate. */
export const FALLBACK_CPU_AIM = 2;

export interface FallbackOptions {
  readonly timing: Timing;
  readonly log: (line: string) => void;
}

/** One rate both transports passed, with the fallback's figures as ratios to the WebSocket's. */
export interface FallbackPair {
  readonly rate: number;
  readonly offered: number;
  readonly sse: StepResult;
  readonly websocket: StepResult;
  readonly cpuRatio: number;
  readonly p99Ratio: number;
}

export interface FallbackLayoutResult {
  readonly name: string;
  readonly layout: RoomLayout;
  /** The fallback's ladder, up to the first rate it failed. */
  readonly sse: LadderResult;
  /** The WebSocket's steps, one at each rate the fallback passed. */
  readonly websocket: readonly StepResult[];
  /** The rates both passed. */
  readonly pairs: readonly FallbackPair[];
  /** The median of the pairs' CPU ratios (the lower middle one of an even count); NaN for none. */
  readonly medianCpuRatio: number;
}

/** The app's set-up with its clients on the fallback. */
function overSse(server: ServerUnderTest): ServerUnderTest {
  return { ...server, name: `${server.name} sse`, transport: 'sse' };
}

function overWebSocket(server: ServerUnderTest): ServerUnderTest {
  return { ...server, name: `${server.name} websocket` };
}

/** Fresh app processes, one per transport, stepped in turns at `rates` in `layout`. */
export async function fallbackLayout(name: string, prefix: string, layout: RoomLayout, rates: readonly number[], options: FallbackOptions): Promise<FallbackLayoutResult> {
  const sse = overSse(await startApp());
  try {
    const websocket = overWebSocket(await startApp());
    try {
      const ladder = await pairedLadder(sse, websocket, prefix, { layout, senders: 'all', rates, timing: options.timing, log: options.log });
      const pairs = ladder.reference
        .map((reference, index): FallbackPair => {
          const subject = ladder.subject.steps[index]!;
          return {
            rate: subject.rate,
            offered: subject.offered,
            sse: subject,
            websocket: reference,
            cpuRatio: subject.serverUsPerDelivery / reference.serverUsPerDelivery,
            p99Ratio: subject.p99Ms / reference.p99Ms,
          };
        })
        .filter((pair) => pair.sse.passed && pair.websocket.passed);
      const sorted = pairs.map((pair) => pair.cpuRatio).sort((a, b) => a - b);
      return {
        name,
        layout,
        sse: ladder.subject,
        websocket: ladder.reference,
        pairs,
        medianCpuRatio: sorted[Math.floor((sorted.length - 1) / 2)] ?? Number.NaN,
      };
    } finally {
      await websocket.stop();
    }
  } finally {
    await sse.stop();
  }
}

/** The closing note's lines: each rate's CPU per delivery and p99 on both transports, as ratios. */
export function fallbackSummary(results: readonly FallbackLayoutResult[]): string[] {
  const lines = [`fallback (SSE and POSTs) / WebSocket, the app stepped in turns at the same rates (aim: CPU per delivery ≤ ${FALLBACK_CPU_AIM}×):`];
  for (const result of results) {
    const rooms = result.layout.rooms === 1 ? 'one room' : `${result.layout.rooms} rooms`;
    lines.push(`  ${result.name}: ${rooms} of ${result.layout.perRoom}, every client sending in turn`);
    for (const pair of result.pairs) {
      lines.push(
        `    ${String(pair.rate).padStart(5)} msg/s ${formatRate(pair.offered).padStart(7)} deliveries/s  ` +
          `CPU ${pair.sse.serverUsPerDelivery.toFixed(3)} vs ${pair.websocket.serverUsPerDelivery.toFixed(3)} µs/delivery = ${pair.cpuRatio.toFixed(2)}× ` +
          `${pair.cpuRatio <= FALLBACK_CPU_AIM ? '(within)' : '(OVER)  '}  ` +
          `p99 ${pair.sse.p99Ms.toFixed(2)} vs ${pair.websocket.p99Ms.toFixed(2)} ms = ${pair.p99Ratio.toFixed(2)}×`,
      );
    }
    const failed = result.sse.steps.find((step) => !step.passed);
    const unpaired = result.websocket.find((step) => !step.passed);
    if (failed) lines.push(`    ${String(failed.rate).padStart(5)} msg/s: the fallback failed (${failureOf(failed)}), the end of its ladder`);
    if (unpaired) lines.push(`    ${String(unpaired.rate).padStart(5)} msg/s: the WebSocket step failed (${failureOf(unpaired)}), not compared`);
    lines.push(
      result.pairs.length > 0
        ? `    median CPU ratio ${result.medianCpuRatio.toFixed(2)}× over ${result.pairs.length} rate(s)`
        : '    no rate passed on both: nothing to compare',
    );
  }
  return lines;
}

function failureOf(step: StepResult): string {
  if (step.errors > 0) return `${step.errors} errors`;
  if (step.received < step.expected) return `${step.expected - step.received} of ${step.expected} not delivered`;
  return `p99 ${step.p99Ms.toFixed(1)} ms over ${MAX_P99_MS} ms`;
}

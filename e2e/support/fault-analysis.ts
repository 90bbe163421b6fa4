/**
 * What a fault scenario measured, read from the client driver's report, the final histories and
 * the apps' logs: the figures of its summary line, and every check that failed, in words.
 */
import type { DriverReport, HistoryEntry } from './fault-driver-protocol';

/**
 * The log lines the issue asks for: one when a process loses Redis or PostgreSQL, one when it has
 * it back, each matched on a line's `msg`. The one place to adjust to the server's wording.
 */
export const OUTAGE_LOG_LINES = {
  redis: { lost: /^redis unreachable$/, recovered: /^redis reachable again$/ },
  postgres: { lost: /^postgres unreachable$/, recovered: /^postgres reachable again$/ },
} as const;
export type Dependency = keyof typeof OUTAGE_LOG_LINES;

/** `/readyz` must answer 200 again this soon after the heal. */
export const READY_WITHIN_MS = 5_000;
/** Every message sent before the heal must be acknowledged this soon after it (none left hanging). */
export const ACKED_WITHIN_MS_OF_HEAL = 5_000;
/** Every client must have every message acknowledged before the heal this soon after it. */
export const CONVERGED_WITHIN_MS_OF_HEAL = 10_000;
/** With `localDelivery`: the longest a message may take to reach the other clients of its sender's process, and to be acknowledged. */
export const LOCAL_DELIVERY_WITHIN_MS = 2_000;

export interface ScenarioTimes {
  /** The fault was put in place. */
  readonly faultAt: number;
  /** The fault was removed (for a crash: the process was started again). */
  readonly healAt: number;
  /** The clients stopped making new messages. */
  readonly stoppedAt: number;
}

export interface Evidence {
  readonly report: DriverReport;
  readonly histories: Readonly<Record<string, readonly HistoryEntry[] | string>>;
  /** Each app's output: JSON lines (pino). */
  readonly logs: Readonly<Record<string, string>>;
  /** When the driver's status first said converged after the stop (null: never, within the deadline). */
  readonly convergedAt: number | null;
}

export interface Expectations {
  /** The process cut from a dependency, which must log the loss and the recovery once each. */
  readonly outage?: { readonly app: string; readonly dependency: Dependency };
  /** The clients of this app must have had sends refused `unavailable` (rather than left hanging). */
  readonly refusesSends?: string;
  /**
   * Each process goes on serving its own clients through the fault: every socket stays open,
   * messages are acknowledged and reach the sender's process's other clients within
   * `LOCAL_DELIVERY_WITHIN_MS` (a fault between the processes and Redis).
   */
  readonly localDelivery?: boolean;
}

export interface Analysis {
  /** One line: what was sent, acknowledged, the worst delay, the time to converge. */
  readonly summary: string;
  /** More lines: readiness, logs, reconnections. */
  readonly details: readonly string[];
  readonly failures: readonly string[];
}

export function analyse(name: string, times: ScenarioTimes, evidence: Evidence, expectations: Expectations = {}): Analysis {
  const { report } = evidence;
  const failures: string[] = [];
  const details: string[] = [];
  const at = (ms: number): string => `${ms >= times.faultAt ? '+' : ''}${((ms - times.faultAt) / 1000).toFixed(1)} s`;

  // What was acknowledged, by id, and who sent it.
  const acked = new Map<number, { readonly sender: string; readonly clientId: string; readonly ackedAt: number }>();
  let sent = 0;
  let slowestAck = { ms: 0, what: 'none' };
  let lateAck = { ms: 0, what: 'none' };
  for (const client of report.clients) {
    sent += client.acked.length + client.pending.length;
    for (const [clientId, id, sentAt, ackedAt, sends] of client.acked) {
      if (ackedAt - sentAt > slowestAck.ms) slowestAck = { ms: ackedAt - sentAt, what: `${clientId} at ${at(sentAt)}, sent ${sends} times` };
      if (sentAt < times.healAt && ackedAt - times.healAt > lateAck.ms) lateAck = { ms: ackedAt - times.healAt, what: `${clientId}, sent at ${at(sentAt)} ${sends} times` };
      const other = acked.get(id);
      if (other) failures.push(`id ${id} acknowledged to ${other.clientId} and to ${clientId}`);
      acked.set(id, { sender: client.name, clientId, ackedAt });
    }
    if (client.pending.length > 0) failures.push(`${client.name} still waits for the echo of ${client.pending.length} messages (first ${client.pending[0]![0]}, sent ${client.pending[0]![2]} times)`);
    if (client.conflicts.length > 0) failures.push(`${client.name}: ${client.conflicts.length} conflicts, e.g. ${client.conflicts.slice(0, 3).join('; ')}`);
    if (client.duplicates.length > 0) {
      const first = client.duplicates[0]!;
      failures.push(`${client.name} received ${client.duplicates.length} ids twice (first: ${first.id} ${first.how}, ${first.via}, connection ${first.connection}, at ${at(first.at)})`);
    }
  }

  if (expectations.localDelivery) {
    if (slowestAck.ms > LOCAL_DELIVERY_WITHIN_MS) failures.push(`a message waited ${slowestAck.ms} ms for its acknowledgement (${slowestAck.what}; more than ${LOCAL_DELIVERY_WITHIN_MS} ms)`);
    const app = new Map(report.clients.map((client) => [client.name, client.app]));
    let slowest = { ms: 0, what: 'none' };
    for (const client of report.clients) {
      if (client.connections.length > 1) failures.push(`${client.name} lost its socket ${client.connections.length - 1} times (${client.connections.map((each) => each.closedBy).filter(Boolean).join(', ')})`);
      for (const [id, seenAt] of client.seen) {
        const message = ackedById(report).get(id);
        if (message && message.sender !== client.name && app.get(message.sender) === client.app && seenAt - message.ackedAt > slowest.ms) {
          slowest = { ms: seenAt - message.ackedAt, what: `#${id} from ${message.sender} on ${client.name}` };
        }
      }
    }
    details.push(`slowest delivery within one process: ${slowest.ms} ms (${slowest.what})`);
    if (slowest.ms > LOCAL_DELIVERY_WITHIN_MS) failures.push(`a message took ${slowest.ms} ms to reach a client of its own process (${slowest.what}; more than ${LOCAL_DELIVERY_WITHIN_MS} ms)`);
  }
  if (lateAck.ms > ACKED_WITHIN_MS_OF_HEAL) failures.push(`a message sent before the heal was acknowledged only ${lateAck.ms} ms after it (${lateAck.what}; more than ${ACKED_WITHIN_MS_OF_HEAL} ms)`);
  if (expectations.refusesSends !== undefined) {
    const refused = report.clients.filter((client) => client.app === expectations.refusesSends).reduce((sum, client) => sum + (client.errors.unavailable ?? 0), 0);
    if (refused === 0) failures.push(`no send through ${expectations.refusesSends} was refused unavailable during the fault: they waited instead`);
  }

  // Every acknowledged message on every client, and how long after its acknowledgement.
  let worst = { ms: 0, what: 'none' };
  let lastFill = times.healAt;
  for (const client of report.clients) {
    const seen = new Map(client.seen.map(([id, seenAt]) => [id, seenAt]));
    const missing: number[] = [];
    for (const [id, message] of acked) {
      const seenAt = seen.get(id);
      if (seenAt === undefined) {
        missing.push(id);
        continue;
      }
      if (message.ackedAt <= times.healAt) lastFill = Math.max(lastFill, seenAt);
      if (message.sender !== client.name && seenAt - message.ackedAt > worst.ms) {
        worst = { ms: seenAt - message.ackedAt, what: `#${id} from ${message.sender} on ${client.name}` };
      }
    }
    if (missing.length > 0) {
      missing.sort((a, b) => a - b);
      failures.push(`${client.name} (${client.app}) misses ${missing.length} acknowledged messages: ${describeIds(missing)}`);
    }
  }

  // Both processes tell the same, gap-free story, which is what every client saw.
  const [firstApp, ...otherApps] = Object.keys(evidence.histories);
  const reference = firstApp === undefined ? undefined : evidence.histories[firstApp];
  if (typeof reference === 'string' || reference === undefined) {
    failures.push(`could not read the history of ${firstApp}: ${reference}`);
  } else {
    for (const app of otherApps) {
      const other = evidence.histories[app]!;
      if (typeof other === 'string') failures.push(`could not read the history of ${app}: ${other}`);
      else if (JSON.stringify(other) !== JSON.stringify(reference)) failures.push(`the histories of ${firstApp} (${reference.length} messages) and ${app} (${other.length}) differ`);
    }
    const ids = reference.map(([id]) => id);
    const gaps = ids.filter((id, index) => id !== index + 1);
    if (gaps.length > 0) failures.push(`the history of ${firstApp} has gaps: ${describeIds(gaps)}`);
    const stored = new Map(reference);
    const notStored = [...acked].filter(([id, message]) => stored.get(id) !== message.clientId).map(([id]) => id);
    if (notStored.length > 0) failures.push(`acknowledged messages not in the history as acknowledged: ${describeIds(notStored)}`);
    for (const client of report.clients) {
      const extra = client.seen.filter(([id, , clientId]) => stored.get(id) !== clientId).map(([id]) => id);
      if (extra.length > 0) failures.push(`${client.name} saw ids the history does not have as it saw them: ${describeIds(extra)}`);
    }
  }

  // Readiness after the heal.
  for (const app of Object.keys(evidence.logs)) {
    const samples = report.readiness.filter((sample) => sample.app === app);
    const last = samples.at(-1);
    const trail = samples.filter((sample) => sample.at >= times.faultAt - 1_000).map((sample) => `${sample.status}@${at(sample.at)}`);
    details.push(`readyz ${app}: ${trail.join(', ') || 'no change'}${last && last.status !== 200 ? ` (last: ${last.body})` : ''}`);
    if (!last || last.status !== 200) failures.push(`${app}'s /readyz is not 200 at the end: ${last ? `${last.status} ${last.body}` : 'never answered'}`);
    else if (last.at - times.healAt > READY_WITHIN_MS) failures.push(`${app}'s /readyz answered 200 again ${last.at - times.healAt} ms after the heal (more than ${READY_WITHIN_MS} ms)`);
  }

  // The logs: the loss and the recovery, one line each; what else was said.
  for (const [app, output] of Object.entries(evidence.logs)) {
    const lines = logLines(output).filter((line) => line.time >= times.faultAt - 500);
    const counts = new Map<string, number>();
    for (const line of lines) if (line.level >= 40 || /redis|postgres|database|store|layer/i.test(line.msg)) counts.set(line.msg, (counts.get(line.msg) ?? 0) + 1);
    details.push(`log ${app}: ${[...counts].map(([msg, count]) => `${count} × "${msg}"`).join(', ') || 'nothing about the fault'}`);
    if (expectations.outage?.app === app) {
      const expected = OUTAGE_LOG_LINES[expectations.outage.dependency];
      const lost = lines.filter((line) => expected.lost.test(line.msg)).length;
      const recovered = lines.filter((line) => expected.recovered.test(line.msg)).length;
      if (lost !== 1 || recovered !== 1) {
        failures.push(`${app} logged the loss of ${expectations.outage.dependency} ${lost} times and its recovery ${recovered} times (expected once each: ${expected.lost} / ${expected.recovered})`);
      }
    }
  }

  const reconnects = report.clients.map((client) => `${client.name} ${client.connections.length - 1}`).join(', ');
  details.push(`reconnections: ${reconnects}; redelivered after resume: ${report.clients.reduce((sum, client) => sum + client.redelivered, 0)}; echoes of retries: ${report.clients.reduce((sum, client) => sum + client.retryEchoes, 0)}; error frames: ${JSON.stringify(sumErrors(report))}`);

  const converge = evidence.convergedAt === null ? 'not converged' : `converged ${((lastFill - times.healAt) / 1000).toFixed(1)} s after the heal`;
  if (evidence.convergedAt !== null && lastFill - times.healAt > CONVERGED_WITHIN_MS_OF_HEAL) {
    failures.push(`the last message acknowledged before the heal reached every client ${lastFill - times.healAt} ms after it (more than ${CONVERGED_WITHIN_MS_OF_HEAL} ms)`);
  }
  const summary = `${name}: sent ${sent}, acknowledged ${acked.size}, worst delay from ack to seen on another client ${worst.ms} ms (${worst.what}), ${converge}`;
  details.unshift(`slowest acknowledgement: ${slowestAck.ms} ms from first send to echo (${slowestAck.what}); latest after the heal: ${lateAck.ms} ms (${lateAck.what})`);
  return { summary, details, failures };
}

/** Acknowledged messages by id: who sent each and when it was acknowledged. */
function ackedById(report: DriverReport): Map<number, { readonly sender: string; readonly ackedAt: number }> {
  let found = ackedIndex.get(report);
  if (!found) {
    found = new Map();
    for (const client of report.clients) for (const [, id, , ackedAt] of client.acked) found.set(id, { sender: client.name, ackedAt });
    ackedIndex.set(report, found);
  }
  return found;
}
const ackedIndex = new WeakMap<DriverReport, Map<number, { readonly sender: string; readonly ackedAt: number }>>();

interface LogLine {
  readonly time: number;
  readonly level: number;
  readonly msg: string;
}

function logLines(output: string): LogLine[] {
  const lines: LogLine[] = [];
  for (const text of output.split('\n')) {
    if (!text.startsWith('{')) continue;
    try {
      const parsed = JSON.parse(text) as { time?: unknown; level?: unknown; msg?: unknown };
      const time = typeof parsed.time === 'number' ? parsed.time : Date.parse(String(parsed.time));
      lines.push({ time, level: typeof parsed.level === 'number' ? parsed.level : levelNumber(String(parsed.level)), msg: String(parsed.msg) });
    } catch {
      // Not a log line (Next's own output).
    }
  }
  return lines;
}

function levelNumber(level: string): number {
  return { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 }[level] ?? 30;
}

function sumErrors(report: DriverReport): Record<string, number> {
  const sum: Record<string, number> = {};
  for (const client of report.clients) for (const [code, count] of Object.entries(client.errors)) sum[code] = (sum[code] ?? 0) + count;
  return sum;
}

/** `3 (12, 13, 14)` or `40 (12…51)`: how many, and where. */
function describeIds(ids: readonly number[]): string {
  if (ids.length <= 5) return `${ids.length} (${ids.join(', ')})`;
  return `${ids.length} (${ids[0]}…${ids.at(-1)})`;
}

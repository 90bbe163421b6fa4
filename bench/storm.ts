/**
 * The reconnect storm: every client of a site back at once after a restart. The app (production
 * build, SQLite, every feature on, the rate limit off) is pinned to the server core, and
 * `rooms` × `perRoom` clients (`storm-clients.ts`, on the generator core) join their rooms; then:
 *
 * 1. each room's first client sends 2 messages, which everyone gets;
 * 2. every second client of each room (never the first) leaves;
 * 3. the first sends 3 more, which only those still there get;
 * 4. the server is stopped (SIGTERM), and every client, those who left included, tries to
 *    reconnect every 100-200 ms, with `?after=` the newest id it has;
 * 5. the server starts again on the same port and data: the storm. Each room's first client
 *    sends 2 more messages as soon as it is back.
 *
 * Measured from the moment the server listens again: until every client has its welcome,
 * history and presence again ("back"), and until every client has every message of its room,
 * 1 to 7, once each ("caught up"); the server's CPU over that time; and what is missing or
 * came twice (both must be 0).
 */
import { type ChildProcess, fork } from 'node:child_process';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { AppServer } from '../e2e/support/app-server';
import { cpuMs, pin, raiseFileLimit } from './process-stats';
import type { RoomLayout } from './scenarios';
import { GENERATOR_CORE, SERVER_CORE } from './servers';
import type { StormCommand, StormReport } from './storm-clients';

const STORM_ORIGIN = 'http://chat.bench.test';

export interface StormResult {
  readonly clients: number;
  /** Clients that had left before the restart (they have 3 messages to catch up on). */
  readonly away: number;
  /** From listening again to every client back (welcome, history, presence). */
  readonly backMs: number;
  /** From listening again to every client holding every message of its room. */
  readonly caughtUpMs: number;
  /** Connects per second over the storm, counting each client once. */
  readonly connectsPerSecond: number;
  readonly serverCpuMs: number;
  readonly generatorCpuMs: number;
  /** Connection attempts from just after the stop to the end (the retries against a server down or starting included). */
  readonly attempts: number;
  /** Handshakes the server refused with an HTTP status. */
  readonly refused: number;
  /** Messages some client never got, summed over clients. */
  readonly missing: number;
  readonly duplicates: number;
}

/** Messages sent before anyone leaves, while half are away, and during the storm. */
const BEFORE = 2;
const WHILE_AWAY = 3;
const DURING = 2;
const LEAVE_EVERY = 2;

class StormClients {
  readonly #child: ChildProcess;
  #waiting: ((report: StormReport) => void) | null = null;

  constructor() {
    this.#child = fork(path.join(__dirname, 'storm-clients.ts'), [], { execArgv: ['--import', 'tsx'], stdio: 'inherit' });
    if (this.#child.pid === undefined) throw new Error('could not start the storm clients');
    raiseFileLimit(this.#child.pid);
    pin(this.#child.pid, GENERATOR_CORE);
    this.#child.on('message', (report: StormReport) => {
      const waiting = this.#waiting;
      this.#waiting = null;
      waiting?.(report);
    });
    this.#child.on('exit', (code) => this.#waiting?.({ kind: 'failed', error: `the storm clients exited with ${code}` }));
  }

  ask(command: StormCommand): Promise<StormReport> {
    return new Promise((resolve, reject) => {
      this.#waiting = (report) => (report.kind === 'failed' ? reject(new Error(report.error)) : resolve(report));
      this.#child.send(command);
    });
  }

  async close(): Promise<void> {
    if (this.#child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.#child.once('exit', resolve));
    await this.ask({ kind: 'close' }).catch(() => {});
    this.#child.kill();
    await exited;
  }
}

function prepare(app: AppServer): number {
  const pid = app.pid;
  if (pid === undefined) throw new Error('the app has no pid');
  raiseFileLimit(pid);
  pin(pid, SERVER_CORE);
  return pid;
}

/** Runs the storm on a fresh app (see the module's comment). */
export async function stormScenario(layout: RoomLayout, log: (line: string) => void): Promise<StormResult> {
  const app = await AppServer.start({
    env: {
      RATE_LIMIT: 'off',
      MAX_CONNECTIONS_PER_IP: '1000000',
      LOG_LEVEL: 'info',
      SESSION_SECRET: 'bench-session-secret-0123456789abcdef',
      ALLOWED_ORIGINS: STORM_ORIGIN,
    },
  });
  const clients = new StormClients();
  try {
    prepare(app);
    const count = layout.rooms * layout.perRoom;
    const connected = await clients.ask({ kind: 'connect', url: app.ws, origin: STORM_ORIGIN, rooms: layout.rooms, perRoom: layout.perRoom });
    log(`  ${count} clients in ${layout.rooms} rooms of ${layout.perRoom} joined in ${(connected.kind === 'done' ? connected.ms / 1000 : 0).toFixed(1)} s`);
    await clients.ask({ kind: 'send', count: BEFORE, head: BEFORE });
    await clients.ask({ kind: 'leave', every: LEAVE_EVERY });
    await clients.ask({ kind: 'send', count: WHILE_AWAY, head: BEFORE + WHILE_AWAY });
    const stoppedAt = performance.now();
    await app.stop('SIGTERM');
    await clients.ask({ kind: 'return' });
    await app.restart();
    const restartMs = performance.now() - stoppedAt;
    const pid = prepare(app);
    const cpuBefore = cpuMs(pid);
    const report = await clients.ask({ kind: 'storm', count: DURING, head: BEFORE + WHILE_AWAY + DURING });
    if (report.kind !== 'caught-up') throw new Error(`the storm clients answered ${report.kind}`);
    const serverCpuMs = cpuMs(pid) - cpuBefore;
    const away = layout.rooms * Math.floor((layout.perRoom - 1) / LEAVE_EVERY);
    log(
      `  restarted in ${(restartMs / 1000).toFixed(1)} s; all ${count} back in ${(report.backMs / 1000).toFixed(2)} s, caught up in ` +
        `${(report.caughtUpMs / 1000).toFixed(2)} s (${away} had 3 messages to catch up on); ${report.attempts} attempts, ` +
        `${report.refused} refused; server CPU ${(serverCpuMs / 1000).toFixed(2)} s, clients ${(report.generatorCpuMs / 1000).toFixed(2)} s; ` +
        `missing ${report.missing}, twice ${report.duplicates}`,
    );
    return {
      clients: count,
      away,
      backMs: report.backMs,
      caughtUpMs: report.caughtUpMs,
      connectsPerSecond: (count * 1000) / report.backMs,
      serverCpuMs,
      generatorCpuMs: report.generatorCpuMs,
      attempts: report.attempts,
      refused: report.refused,
      missing: report.missing,
      duplicates: report.duplicates,
    };
  } finally {
    await clients.close();
    await app.dispose();
  }
}

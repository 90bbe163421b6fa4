/** CPU time and memory of another process, from /proc, and pinning it to a core. */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

const TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
const PAGE_BYTES = Number(execFileSync('getconf', ['PAGESIZE'], { encoding: 'utf8' }).trim()) || 4096;

/** The fields of a /proc stat file after the command name (which may hold spaces). */
function fieldsOf(file: string): string[] {
  const stat = readFileSync(file, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

function statFields(pid: number): string[] {
  return fieldsOf(`/proc/${pid}/stat`);
}

/** utime plus stime (fields 14 and 15 of the whole line: 12 and 13 after the name), in milliseconds. */
function cpuOf(fields: readonly string[]): number {
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
}

/** User plus system CPU time the process has used so far, in milliseconds (every thread, those ended included). */
export function cpuMs(pid: number): number {
  return cpuOf(statFields(pid));
}

/** One thread of a process: its id, its name (`comm`, which the thread may have set), its CPU time so far. */
export interface ThreadCpu {
  readonly tid: number;
  readonly name: string;
  readonly ms: number;
}

/**
 * The CPU time of each live thread of `pid`, from /proc/<pid>/task/*. A thread that ends between
 * two readings drops out of the second: its time stays in `cpuMs`, which is why the total is read
 * from the process, not summed from here.
 */
export function threadCpuMs(pid: number): ThreadCpu[] {
  const threads: ThreadCpu[] = [];
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return threads;
  }
  for (const tid of tids) {
    try {
      const name = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
      threads.push({ tid: Number(tid), name, ms: cpuOf(fieldsOf(`/proc/${pid}/task/${tid}/stat`)) });
    } catch {
      // The thread ended while the folder was read.
    }
  }
  return threads;
}

/** Resident memory, in bytes. */
export function rssBytes(pid: number): number {
  return Number(statFields(pid)[21]) * PAGE_BYTES;
}

let taskset: boolean | null = null;

/** Pins every thread of `pid` to `core` where `taskset` exists; false where it does not. */
export function pin(pid: number, core: number): boolean {
  if (taskset === null) {
    try {
      execFileSync('taskset', ['-V'], { stdio: 'ignore' });
      taskset = true;
    } catch {
      taskset = false;
    }
  }
  if (!taskset) return false;
  execFileSync('taskset', ['-a', '-p', '-c', String(core), String(pid)], { stdio: 'ignore' });
  return true;
}

/** Raises the process's open-file limit to its hard limit (5,000 sockets need it on most machines). */
export function raiseFileLimit(pid: number): void {
  try {
    const hard = execFileSync('prlimit', ['--pid', String(pid), '--nofile', '--output', 'HARD', '--noheadings'], { encoding: 'utf8' }).trim();
    execFileSync('prlimit', ['--pid', String(pid), `--nofile=${hard}:${hard}`], { stdio: 'ignore' });
  } catch {
    // No prlimit: the limit stays as it is, and a scenario that needs more sockets says so when it fails.
  }
}

/** The live threads of some processes at one moment, keyed `<pid>/<tid>`. */
export type ThreadSnapshot = ReadonlyMap<string, ThreadCpu & { readonly main: boolean }>;

export function threadSnapshot(pids: readonly number[]): ThreadSnapshot {
  const snapshot = new Map<string, ThreadCpu & { main: boolean }>();
  for (const pid of pids) for (const thread of threadCpuMs(pid)) snapshot.set(`${pid}/${thread.tid}`, { ...thread, main: thread.tid === pid });
  return snapshot;
}

/** A group of threads' CPU between two snapshots, as a share of one core. */
export interface ThreadShare {
  /** `main` for the processes' main threads; otherwise the threads' name (Node 20 calls all its threads `node`). */
  readonly name: string;
  readonly threads: number;
  readonly cpuShare: number;
  /** The share of the group's busiest thread: a worker doing real work (SQLite's checkpointer) stands out from the idle pool. */
  readonly busiestShare: number;
}

/**
 * The CPU each group of threads used from `before` to `after` (`elapsedMs` apart), busiest group
 * first. A thread started in between counts from zero; one that ended is missing.
 */
export function threadShares(before: ThreadSnapshot, after: ThreadSnapshot, elapsedMs: number): ThreadShare[] {
  const groups = new Map<string, { threads: number; ms: number; busiest: number }>();
  for (const [key, thread] of after) {
    const ms = thread.ms - (before.get(key)?.ms ?? 0);
    const name = thread.main ? 'main' : thread.name;
    const group = groups.get(name) ?? { threads: 0, ms: 0, busiest: 0 };
    group.threads++;
    group.ms += ms;
    group.busiest = Math.max(group.busiest, ms);
    groups.set(name, group);
  }
  return [...groups]
    .map(([name, group]) => ({ name, threads: group.threads, cpuShare: group.ms / elapsedMs, busiestShare: group.busiest / elapsedMs }))
    .sort((a, b) => b.cpuShare - a.cpuShare);
}

/** `main 78%, node ×9 6% (busiest 4%)`: the groups that used at least 1% of a core. */
export function describeThreads(shares: readonly ThreadShare[]): string {
  const percent = (share: number): string => `${(share * 100).toFixed(0)}%`;
  const shown = shares.filter((share) => share.cpuShare >= 0.01);
  if (shown.length === 0) return 'threads idle';
  return shown
    .map((share) =>
      share.threads === 1 ? `${share.name} ${percent(share.cpuShare)}` : `${share.name} ×${share.threads} ${percent(share.cpuShare)} (busiest ${percent(share.busiestShare)})`,
    )
    .join(', ');
}

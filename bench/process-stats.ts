/** CPU time and memory of another process, from /proc, and pinning it to a core. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
const PAGE_BYTES = Number(execFileSync('getconf', ['PAGESIZE'], { encoding: 'utf8' }).trim()) || 4096;

/** The fields of /proc/<pid>/stat after the command name (which may hold spaces). */
function statFields(pid: number): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** User plus system CPU time the process has used so far, in milliseconds. */
export function cpuMs(pid: number): number {
  const fields = statFields(pid);
  // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after the name.
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
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

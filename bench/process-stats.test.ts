import assert from 'node:assert/strict';
import { it } from 'node:test';
import { describeThreads, threadCpuMs, threadShares, type ThreadSnapshot } from './process-stats';

function snapshot(threads: readonly [string, string, number, boolean][]): ThreadSnapshot {
  return new Map(threads.map(([key, name, ms, main]) => [key, { tid: Number(key.split('/')[1]), name, ms, main }]));
}

it('groups the CPU of threads between two snapshots: the main threads apart, the others by name, with the busiest', () => {
  const before = snapshot([
    ['10/10', 'node', 1000, true],
    ['10/11', 'node', 50, false],
    ['10/12', 'node', 200, false],
  ]);
  const after = snapshot([
    ['10/10', 'node', 1800, true],
    ['10/11', 'node', 60, false],
    ['10/12', 'node', 340, false],
    // Started during the interval: counts from zero.
    ['10/13', 'JITWorker', 30, false],
  ]);
  const shares = threadShares(before, after, 1000);
  assert.deepEqual(
    shares.map((share) => [share.name, share.threads, Number(share.cpuShare.toFixed(2)), Number(share.busiestShare.toFixed(2))]),
    [
      ['main', 1, 0.8, 0.8],
      ['node', 2, 0.15, 0.14],
      ['JITWorker', 1, 0.03, 0.03],
    ],
  );
  assert.equal(describeThreads(shares), 'main 80%, node ×2 15% (busiest 14%), JITWorker 3%');
});

it('reads every thread of a live process, its own main thread included', () => {
  const threads = threadCpuMs(process.pid);
  assert.ok(threads.some((thread) => thread.tid === process.pid));
  assert.ok(threads.every((thread) => thread.name.length > 0 && thread.ms >= 0));
});

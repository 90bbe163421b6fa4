import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { it } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { type Flushable, flushSoon } from './flush-pacer';

/** A writer that records each flush, and can make one flush take `busyMs` of the process's time. */
class Writer implements Flushable {
  readonly flushes: number[] = [];
  busyMs = 0;
  #flushed: (() => void) | null = null;

  flush(): void {
    const until = performance.now() + this.busyMs;
    while (performance.now() < until) {
      // Stands for writing to many sockets.
    }
    this.busyMs = 0;
    this.flushes.push(flushCount++);
    this.#flushed?.();
  }

  flushed(): Promise<void> {
    return new Promise((resolve) => (this.#flushed = resolve));
  }
}

let flushCount = 0;

// The tests share the process's one pacing, so they run in order, each from what the last left.

it('flushes at the end of the turn while writing takes little of the time', async () => {
  const writer = new Writer();
  flushSoon(writer);
  assert.deepEqual(writer.flushes, [], 'not within the turn');
  await nextTurn();
  assert.equal(writer.flushes.length, 1);
});

it('holds writes once flushing has taken more than its share, then writes them together', async () => {
  const long = new Writer();
  long.busyMs = 60;
  flushSoon(long);
  await nextTurn();
  assert.equal(long.flushes.length, 1, 'a long flush still goes out at once (credit saved while quiet)');

  const first = new Writer();
  const second = new Writer();
  const bothFlushed = Promise.all([first.flushed(), second.flushed()]);
  flushSoon(first);
  await nextTurn();
  flushSoon(second);
  await nextTurn();
  assert.deepEqual([first.flushes, second.flushes], [[], []], 'held: the long flush spent more than the credit');
  await bothFlushed;
  assert.equal(second.flushes[0], first.flushes[0]! + 1, 'one flush carried both');
});

it('is back to flushing at the end of the turn after a quiet spell', async () => {
  await new Promise((resolve) => setTimeout(resolve, 30));
  const writer = new Writer();
  flushSoon(writer);
  await nextTurn();
  assert.equal(writer.flushes.length, 1);
});

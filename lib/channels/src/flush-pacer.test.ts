import assert from 'node:assert/strict';
import { it } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { type Flushable, FlushPacer } from './flush-pacer';

/** A clock that moves only when told: a flush "takes" the time its writer says. */
class Clock {
  ms = 0;
  readonly now = (): number => this.ms;
}

/** A writer that records each flush; a flush takes `busyMs` of the clock and carries `messages`. */
class Writer implements Flushable {
  readonly flushes: number[] = [];
  #flushed: (() => void) | null = null;

  constructor(
    readonly clock: Clock,
    public busyMs = 0,
    public messages = 1,
  ) {}

  flush(): number {
    this.clock.ms += this.busyMs;
    this.flushes.push(this.clock.ms);
    this.#flushed?.();
    return this.messages;
  }

  flushed(): Promise<void> {
    return new Promise((resolve) => (this.#flushed = resolve));
  }
}

/** Flushes held by the pacer, which go only when the test releases them. */
class Held {
  readonly #waiting: Array<() => void> = [];
  readonly holdFor = (flush: () => void): void => {
    this.#waiting.push(flush);
  };
  get count(): number {
    return this.#waiting.length;
  }
  release(): void {
    for (const flush of this.#waiting.splice(0)) flush();
  }
}

/** Queues one flush of `writer` and waits for it, releasing it if held; answers whether it went at the end of the turn. */
async function flushOnce(pacer: FlushPacer, writer: Writer, held: Held): Promise<boolean> {
  const flushed = writer.flushed();
  const before = writer.flushes.length;
  pacer.flushSoon(writer);
  await nextTurn();
  const atOnce = writer.flushes.length > before;
  held.release();
  await flushed;
  return atOnce;
}

/** A pacer that has just had an 80-ms flush in the last 100 ms, so is holding writes. */
async function pacedPacer(): Promise<{ pacer: FlushPacer; clock: Clock; held: Held }> {
  const clock = new Clock();
  const held = new Held();
  const pacer = new FlushPacer(clock.now, held.holdFor);
  assert.equal(await flushOnce(pacer, new Writer(clock, 80), held), true, 'a long flush still goes out at once');
  assert.equal(pacer.pacing, 'paced');
  return { pacer, clock, held };
}

it('flushes at the end of the turn while writing takes little of the time', async () => {
  const clock = new Clock();
  const pacer = new FlushPacer(clock.now);
  const writer = new Writer(clock, 1);
  pacer.flushSoon(writer);
  assert.deepEqual(writer.flushes, [], 'not within the turn');
  await nextTurn();
  assert.equal(writer.flushes.length, 1);
  assert.equal(pacer.pacing, 'free');
});

it('holds writes once flushing would take most of the time, then writes them together', async () => {
  const { pacer, clock, held } = await pacedPacer();
  const first = new Writer(clock);
  const second = new Writer(clock);
  const firstFlushed = first.flushed();
  pacer.flushSoon(first);
  await nextTurn();
  pacer.flushSoon(second);
  await nextTurn();
  assert.deepEqual([first.flushes, second.flushes], [[], []], 'held');
  assert.equal(held.count, 1, 'one held flush for both');
  held.release();
  await firstFlushed;
  // This runs once the flush that wrote the first is over: a flush of its own for the second
  // would come in a later turn.
  assert.equal(second.flushes.length, 1, 'one flush carried both');
});

it('writes at the end of each turn again once the load falls to about half the time', async () => {
  const { pacer, clock, held } = await pacedPacer();
  clock.ms += 100;
  // 5 ms of every 9: over the share paced writing is held to, under the one that starts pacing.
  const writer = new Writer(clock, 5);
  for (let round = 0; round < 60; round++) {
    const atOnce = await flushOnce(pacer, writer, held);
    if (round > 0) assert.equal(atOnce, true, `round ${round}: not held`);
    clock.ms += 4;
  }
  assert.equal(pacer.pacing, 'free');
});

it('stays paced while the writes it joins would take most of the time apart', async () => {
  const { pacer, clock, held } = await pacedPacer();
  // Flushing takes 40% of the time, but each write carries two messages: 80% unheld.
  const joined = new Writer(clock, 4, 2);
  for (let round = 0; round < 30; round++) {
    await flushOnce(pacer, joined, held);
    clock.ms += 6;
  }
  assert.equal(pacer.pacing, 'paced');
  // The same flushes with one message each: 40%, and the pacing lets go.
  const single = new Writer(clock, 4, 1);
  for (let round = 0; round < 30; round++) {
    await flushOnce(pacer, single, held);
    clock.ms += 6;
  }
  assert.equal(pacer.pacing, 'free');
});

it('stays free while messages that came in one turn share a write, counting the time that write took', async () => {
  const clock = new Clock();
  const held = new Held();
  const pacer = new FlushPacer(clock.now, held.holdFor);
  // Flushing takes 40% of the time; each write carries three messages that came together, as
  // they would again: 40%, not the 120% that writing them apart would take.
  const together = new Writer(clock, 4, 3);
  for (let round = 0; round < 30; round++) {
    assert.equal(await flushOnce(pacer, together, held), true, `round ${round}: not held`);
    clock.ms += 6;
  }
  assert.equal(pacer.pacing, 'free');
});

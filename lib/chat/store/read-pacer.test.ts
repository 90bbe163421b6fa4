import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ReadPacer } from './read-pacer';

describe('ReadPacer', () => {
  it('starts the first read of a quiet moment at once', async () => {
    const pacer = new ReadPacer({ rowsPerTurn: 100 });
    let started = false;
    const read = pacer.read(100, async () => {
      started = true;
      return 'page';
    });
    assert.equal(started, true);
    assert.equal(await read, 'page');
  });

  it('starts at most a slice of rows per turn of the event loop, in the order asked', async () => {
    const pacer = new ReadPacer({ rowsPerTurn: 200 });
    // Counts turns of the event loop: other work (I/O) gets each of them.
    let turn = 0;
    let counting = true;
    const tick = (): void => {
      turn++;
      if (counting) setImmediate(tick);
    };
    setImmediate(tick);
    const started: Array<[number, number]> = [];
    await Promise.all(Array.from({ length: 6 }, (_, n) => pacer.read(100, async () => void started.push([n, turn])))).finally(() => (counting = false));
    assert.deepEqual(started.map(([n]) => n), [0, 1, 2, 3, 4, 5]);
    const turns = started.map(([, at]) => at);
    assert.equal(turns[0], turns[1]);
    assert.equal(turns[2], turns[3]);
    assert.equal(turns[4], turns[5]);
    assert.ok(turns[0]! < turns[2]! && turns[2]! < turns[4]!, `slices in turns ${turns.join(', ')}`);
    assert.equal(pacer.waiting, 0);
  });

  it('lets a read bigger than the slice run alone in a turn, rather than never', async () => {
    const pacer = new ReadPacer({ rowsPerTurn: 10 });
    const events: string[] = [];
    await Promise.all([pacer.read(50, async () => void events.push('a')), pacer.read(50, async () => void events.push('b'))]);
    assert.deepEqual(events, ['a', 'b']);
  });

  it('passes a failed read on to its caller, and goes on with the next', async () => {
    const pacer = new ReadPacer({ rowsPerTurn: 1 });
    const failed = pacer.read(1, async () => {
      throw new Error('disk on fire');
    });
    const thrown = pacer.read(1, () => {
      throw new Error('thrown before a promise');
    });
    const next = pacer.read(1, async () => 'fine');
    await assert.rejects(failed, /disk on fire/);
    await assert.rejects(thrown, /thrown before a promise/);
    assert.equal(await next, 'fine');
  });
});

import assert from 'node:assert/strict';
import { it } from 'node:test';
import { ChangePacer } from './change-pacer';

it('runs the first change at once and folds the rest of an interval into one run at its end', async () => {
  const runs: string[] = [];
  let ended: () => void = () => {};
  const end = new Promise<void>((resolve) => (ended = resolve));
  const pacer = new ChangePacer(15, (key) => {
    runs.push(key);
    if (runs.length === 2) ended();
  });
  pacer.changed('a');
  pacer.changed('a');
  pacer.changed('a');
  assert.deepEqual(runs, ['a']);
  assert.equal(pacer.pending('a'), true);
  assert.equal(pacer.pending('b'), false);
  await end;
  assert.deepEqual(runs, ['a', 'a']);
  pacer.close();
});

it('runs on every change with an interval of 0, and refuses a negative one', () => {
  let runs = 0;
  const pacer = new ChangePacer(0, () => runs++);
  pacer.changed('a');
  pacer.changed('a');
  assert.equal(runs, 2);
  assert.throws(() => new ChangePacer(-1, () => {}), RangeError);
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Progress } from './progress';

describe('Progress', () => {
  it('resolves at once when the condition already holds', async () => {
    await new Progress().until(() => true, 10);
  });

  it('looks again when told something changed, well before its poll', async () => {
    const progress = new Progress();
    let done = false;
    let resolved = false;
    const waiting = progress.until(() => done, 60_000, 60_000).then(() => (resolved = true));
    progress.changed();
    await Promise.resolve();
    assert.equal(resolved, false);
    done = true;
    progress.changed();
    await waiting;
    assert.equal(resolved, true);
  });

  it('notices by its poll what no change says, and gives up at the deadline', async () => {
    const progress = new Progress();
    let done = false;
    const polled = progress.until(() => done, 60_000, 1);
    done = true;
    await polled;
    let looked = 0;
    await progress.until(() => (looked++, false), 5, 1);
    assert.ok(looked > 1, `looked ${looked} times`);
  });
});

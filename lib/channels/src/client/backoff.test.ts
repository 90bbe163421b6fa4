import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { exponentialBackoff } from './backoff';

describe('exponentialBackoff', () => {
  it('waits a random time under a doubling ceiling, capped', () => {
    const highest = exponentialBackoff({ baseMs: 500, capMs: 30_000, random: () => 0.999999 });
    assert.deepEqual([1, 2, 3, 4].map(highest), [499, 999, 1999, 3999]);
    assert.equal(highest(20), 29_999);
    assert.equal(exponentialBackoff({ random: () => 0 })(5), 0);
  });
});

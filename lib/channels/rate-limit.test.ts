import assert from 'node:assert/strict';
import { it } from 'node:test';
import { TokenBucket } from './rate-limit';

it('allows a burst, then refills at the rate', () => {
  let now = 0;
  const bucket = new TokenBucket({ rate: 20, perMs: 10_000, burst: 10 }, () => now);
  for (let n = 0; n < 10; n++) assert.equal(bucket.take(), true, `burst ${n}`);
  assert.equal(bucket.take(), false);
  now += 499;
  assert.equal(bucket.take(), false);
  now += 1;
  assert.equal(bucket.take(), true);
  now += 60_000;
  for (let n = 0; n < 10; n++) assert.equal(bucket.take(), true);
  assert.equal(bucket.take(), false, 'never holds more than the burst');
});

it('rejects a limit that is not positive', () => {
  assert.throws(() => new TokenBucket({ rate: 0, perMs: 1000, burst: 1 }), /invalid rate limit/);
  assert.throws(() => new TokenBucket({ rate: 1, perMs: 1000, burst: 0 }), /invalid rate limit/);
});

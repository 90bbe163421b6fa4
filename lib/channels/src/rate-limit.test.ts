import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KeyedBuckets, TokenBucket } from './rate-limit';

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

it('spends a cost of several tokens at once, or nothing', () => {
  let now = 0;
  const bucket = new TokenBucket({ rate: 10, perMs: 1_000, burst: 10 }, () => now);
  assert.equal(bucket.take(7), true);
  assert.equal(bucket.take(4), false, 'only 3 left');
  assert.equal(bucket.take(3), true);
  now += 100;
  assert.equal(bucket.has(1), true);
  assert.equal(bucket.has(2), false);
});

it('lets a charge go into debt, which the refill pays off before anything else is allowed', () => {
  let now = 0;
  const bucket = new TokenBucket({ rate: 10, perMs: 1_000, burst: 10 }, () => now);
  bucket.charge(25);
  assert.equal(bucket.has(), false);
  now += 1_500;
  assert.equal(bucket.has(), false, 'still 0 tokens after 1.5 s');
  now += 100;
  assert.equal(bucket.take(), true);
});

describe('KeyedBuckets', () => {
  it('gives every key its own bucket of the shared limit', () => {
    let now = 0;
    const buckets = new KeyedBuckets({ rate: 2, perMs: 1_000, burst: 2 }, { now: () => now });
    assert.equal(buckets.take('a'), true);
    assert.equal(buckets.take('a'), true);
    assert.equal(buckets.take('a'), false);
    assert.equal(buckets.take('b'), true, 'another key is not affected');
    assert.equal(buckets.msUntil('a'), 500);
    now += 500;
    assert.equal(buckets.msUntil('a'), 0);
    assert.equal(buckets.take('a'), true);
  });

  it('forgets keys that have refilled, so idle keys hold no memory', () => {
    let now = 0;
    const buckets = new KeyedBuckets({ rate: 1, perMs: 1_000, burst: 1 }, { now: () => now });
    buckets.take('a');
    assert.equal(buckets.size, 1);
    now += 1_000;
    buckets.take('b');
    now += 1_000;
    assert.equal(buckets.take('b'), true);
    assert.equal(buckets.size, 2, 'a and b are both spent now');
    now += 5_000;
    assert.equal(buckets.has('a'), true);
  });

  it('remembers at most maxKeys keys, dropping the refilled and then the least recently used', () => {
    let now = 0;
    const buckets = new KeyedBuckets({ rate: 1, perMs: 60_000, burst: 1 }, { now: () => now, maxKeys: 100 });
    for (let n = 0; n < 1_000; n++) {
      assert.equal(buckets.take(`k${n}`), true);
      now += 1;
    }
    assert.ok(buckets.size <= 100, `${buckets.size} keys`);
    assert.equal(buckets.take('k999'), false, 'the most recent keys are still spent');
  });
});

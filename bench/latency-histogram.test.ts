import assert from 'node:assert/strict';
import { it } from 'node:test';
import { LatencyHistogram } from './latency-histogram';

it('reads percentiles off the samples to the nearest 10 µs, and starts over on reset', () => {
  const histogram = new LatencyHistogram();
  assert.ok(Number.isNaN(histogram.percentile(0.5)));
  for (let ms = 1; ms <= 100; ms++) histogram.record(ms);
  assert.equal(histogram.count, 100);
  assert.ok(Math.abs(histogram.percentile(0.5) - 50) <= 0.011);
  assert.ok(Math.abs(histogram.percentile(0.99) - 99) <= 0.011);
  assert.equal(histogram.max, 100);
  histogram.record(-1);
  histogram.record(50_000);
  assert.equal(histogram.max, 50_000, 'a sample past the last bucket still counts as the maximum');
  histogram.reset();
  assert.equal(histogram.count, 0);
  assert.equal(histogram.max, 0);
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PrometheusMetrics as TransportMetrics } from './prometheus';

describe('PrometheusMetrics', () => {
  it('reports the frames counted since the start at every read, adding what came between reads', async () => {
    const metrics = new TransportMetrics();
    for (let frame = 0; frame < 3; frame++) metrics.sent();
    metrics.received();
    const first = await metrics.registry.metrics();
    assert.match(first, /^channels_frames_sent_total 3$/m);
    assert.match(first, /^channels_frames_received_total 1$/m);
    metrics.sent();
    metrics.sent();
    const second = await metrics.registry.metrics();
    assert.match(second, /^channels_frames_sent_total 5$/m);
    assert.match(second, /^channels_frames_received_total 1$/m);
  });
});

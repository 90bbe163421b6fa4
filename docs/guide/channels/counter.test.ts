import assert from 'node:assert/strict';
import { it } from 'node:test';
import { InMemoryChannelLayer, urlRouter } from 'next-channels';
import { WebsocketCommunicator } from 'next-channels/testing';
import { counterRoutes } from './counter';

it('counts clicks from everyone watching, and tells them all', async () => {
  const layer = new InMemoryChannelLayer();
  const app = urlRouter(counterRoutes);
  const ana = new WebsocketCommunicator(app, '/ws/counters/likes/', { layer });
  const bo = new WebsocketCommunicator(app, '/ws/counters/likes/', { layer });
  assert.deepEqual(await ana.connect(), { accepted: true });
  assert.deepEqual(await bo.connect(), { accepted: true });
  assert.deepEqual(await ana.receiveJson(), { type: 'count', value: 0 });
  assert.deepEqual(await bo.receiveJson(), { type: 'count', value: 0 });

  ana.sendJson({ type: 'increment' });
  assert.deepEqual(await ana.receiveJson(), { type: 'count', value: 1 });
  assert.deepEqual(await bo.receiveJson(), { type: 'count', value: 1 });

  bo.sendJson({ type: 'what' });
  assert.deepEqual(await bo.receiveJson(), { type: 'error', detail: 'send {"type": "increment"}' });
  assert.equal(await ana.receiveNothing(), true);
  await ana.disconnect();
  await bo.disconnect();
});

it('refuses a counter name that breaks the rule, before the handshake', async () => {
  const outcome = await new WebsocketCommunicator(urlRouter(counterRoutes), '/ws/counters/Not%20OK/').connect();
  assert.equal(!outcome.accepted && outcome.status, 404);
});

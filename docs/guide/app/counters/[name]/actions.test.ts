import assert from 'node:assert/strict';
import { after, it } from 'node:test';
import { InMemoryChannelLayer, installChannelLayer, uninstallChannelLayer, urlRouter } from 'next-channels';
import { WebsocketCommunicator } from 'next-channels/testing';
import { counterRoutes } from '../../../channels/counter';
import { resetCounter } from './actions';

after(() => uninstallChannelLayer());

it('resets the counter for everyone watching, and for whoever comes later', async () => {
  const layer = new InMemoryChannelLayer();
  // What serveNext does at start, so that server actions find the live layer.
  installChannelLayer(layer);
  const app = urlRouter(counterRoutes);
  const watcher = new WebsocketCommunicator(app, '/ws/counters/reset-me/', { layer });
  await watcher.connect();
  assert.deepEqual(await watcher.receiveJson(), { type: 'count', value: 0 });
  watcher.sendJson({ type: 'increment' });
  assert.deepEqual(await watcher.receiveJson(), { type: 'count', value: 1 });

  await resetCounter('reset-me');
  assert.deepEqual(await watcher.receiveJson(), { type: 'count', value: 0 });
  const later = new WebsocketCommunicator(app, '/ws/counters/reset-me/', { layer });
  await later.connect();
  assert.deepEqual(await later.receiveJson(), { type: 'count', value: 0 });
  await watcher.disconnect();
  await later.disconnect();
});

it('refuses a name that is not a counter', async () => {
  await assert.rejects(resetCounter('../etc'), /no such counter/);
});

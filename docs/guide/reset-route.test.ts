import assert from 'node:assert/strict';
import { after, it } from 'node:test';
import { InMemoryChannelLayer, installChannelLayer, uninstallChannelLayer, urlRouter } from 'next-channels';
import { WebsocketCommunicator } from 'next-channels/testing';
import { counterRoute } from './counter-consumer';
import { POST } from './reset-route';

after(() => uninstallChannelLayer());

it('reaches the consumers through the live layer', async () => {
  const layer = new InMemoryChannelLayer();
  // What serveNext does at start, so that route handlers find the live layer.
  installChannelLayer(layer);
  const watcher = new WebsocketCommunicator(urlRouter([counterRoute]), '/ws/counter/reset-me/', { layer });
  await watcher.connect();
  await watcher.receiveJson();
  watcher.sendJson({ type: 'increment' });
  assert.deepEqual(await watcher.receiveJson(), { type: 'count', value: 1 });

  const response = await POST(new Request('http://localhost/api/counters/reset-me/reset', { method: 'POST' }), {
    params: Promise.resolve({ name: 'reset-me' }),
  });
  assert.equal(response.status, 204);
  assert.deepEqual(await watcher.receiveJson(), { type: 'count', value: 0 });
});

import assert from 'node:assert/strict';
import { after, it } from 'node:test';
import { InMemoryChannelLayer, installChannelLayer, uninstallChannelLayer } from 'next-channels';
import { WebsocketCommunicator } from 'next-channels/testing';
import { POST } from '../app/api/rooms/[room]/route';
import { application } from '../routing';

// The Origin check lets this site's pages in: the tests connect as one.
const page = { headers: { origin: `http://localhost:${process.env.PORT ?? 3000}` } };

it('sends a message to everyone in the room', async () => {
  const layer = new InMemoryChannelLayer();
  const ana = new WebsocketCommunicator(application, '/ws/rooms/lobby/', { ...page, layer });
  const bo = new WebsocketCommunicator(application, '/ws/rooms/lobby/', { ...page, layer });
  assert.deepEqual(await ana.connect(), { accepted: true });
  assert.deepEqual(await bo.connect(), { accepted: true });
  assert.deepEqual(await ana.receiveJson(), { type: 'history', messages: [] });
  assert.deepEqual(await bo.receiveJson(), { type: 'history', messages: [] });

  ana.sendJson({ text: 'hello' });
  assert.deepEqual(await ana.receiveJson(), { type: 'message', text: 'hello' });
  assert.deepEqual(await bo.receiveJson(), { type: 'message', text: 'hello' });
  bo.sendJson({ text: '' });
  assert.deepEqual(await bo.receiveJson(), { type: 'error', detail: 'send {"text": "..."}, 1 to 500 characters' });
  assert.equal(await ana.receiveNothing(), true);
  await ana.disconnect();
  await bo.disconnect();
});

it("refuses other sites' pages, and room names that break the rule", async () => {
  const elsewhere = { headers: { origin: 'https://elsewhere.example' } };
  const foreign = await new WebsocketCommunicator(application, '/ws/rooms/lobby/', elsewhere).connect();
  assert.equal(foreign.accepted === false && foreign.status, 403);
  const badName = await new WebsocketCommunicator(application, '/ws/rooms/Not%20This/', page).connect();
  assert.equal(badName.accepted === false && badName.status, 404);
});

it('passes what is posted to the route handler to the room, and to whoever joins later', async () => {
  const layer = new InMemoryChannelLayer();
  // What serveNext does at start, so that route handlers find the live layer.
  installChannelLayer(layer);
  after(() => uninstallChannelLayer());
  const watcher = new WebsocketCommunicator(application, '/ws/rooms/news/', { ...page, layer });
  await watcher.connect();
  assert.deepEqual(await watcher.receiveJson(), { type: 'history', messages: [] });

  const response = await POST(new Request('http://localhost/api/rooms/news', { method: 'POST', body: 'deploying at noon' }), {
    params: Promise.resolve({ room: 'news' }),
  });
  assert.equal(response.status, 204);
  assert.deepEqual(await watcher.receiveJson(), { type: 'message', text: 'deploying at noon' });

  const later = new WebsocketCommunicator(application, '/ws/rooms/news/', { ...page, layer });
  await later.connect();
  assert.deepEqual(await later.receiveJson(), { type: 'history', messages: ['deploying at noon'] });
  await watcher.disconnect();
  await later.disconnect();
});

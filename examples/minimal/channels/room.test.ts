import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InMemoryChannelLayer } from 'next-channels';
import { WebsocketCommunicator } from 'next-channels/testing';
import { application } from './routing';

const origin = { origin: `http://localhost:${process.env.PORT ?? 3000}` };

test('a message goes to everyone in the room, and to no other room', async () => {
  const layer = new InMemoryChannelLayer();
  const alice = new WebsocketCommunicator(application, '/ws/room/lobby/', { headers: origin, layer });
  const bob = new WebsocketCommunicator(application, '/ws/room/lobby/', { headers: origin, layer });
  const carol = new WebsocketCommunicator(application, '/ws/room/garden/', { headers: origin, layer });
  for (const client of [alice, bob, carol]) assert.deepEqual(await client.connect(), { accepted: true });

  alice.sendJson({ type: 'say', text: 'hello' });
  assert.deepEqual(await alice.receiveJson(), { type: 'said', text: 'hello' });
  assert.deepEqual(await bob.receiveJson(), { type: 'said', text: 'hello' });
  assert.equal(await carol.receiveNothing(), true);

  for (const client of [alice, bob, carol]) await client.disconnect();
});

test('refuses other sites and unknown paths before the handshake', async () => {
  const elsewhere = new WebsocketCommunicator(application, '/ws/room/lobby/', { headers: { origin: 'https://example.com' } });
  assert.equal(((await elsewhere.connect()) as { status: number }).status, 403);
  const badRoom = new WebsocketCommunicator(application, '/ws/room/No Such Room/', { headers: origin });
  assert.equal(((await badRoom.connect()) as { status: number }).status, 404);
});

import assert from 'node:assert/strict';
import { after, it } from 'node:test';
import { InMemoryChannelLayer, InMemoryPresence, installPresence, uninstallPresence } from 'next-channels';
import { WebsocketCommunicator } from 'next-channels/testing';
import { GET } from '../app/api/rooms/[room]/here/route';
import { application } from '../routing';

const page = { headers: { origin: `http://localhost:${process.env.PORT ?? 3000}` } };

it('lists who is in a room, once per name, to the sockets and to the route handler', async () => {
  const layer = new InMemoryChannelLayer();
  const presence = new InMemoryPresence({ changeIntervalMs: 0 });
  installPresence(presence);
  after(() => uninstallPresence());
  const open = async (name: string) => {
    const client = new WebsocketCommunicator(application, `/ws/here/lobby/?name=${name}`, { ...page, layer, presence });
    assert.deepEqual(await client.connect(), { accepted: true });
    return client;
  };
  const ana = await open('Ana');
  const first = await ana.receiveJson<{ $: string; entries: Array<{ key: string }> }>();
  assert.equal(first.$, 'presence');
  assert.deepEqual(first.entries.map((entry) => entry.key), ['Ana']);
  const bo = await open('Bo');
  const secondTab = await open('Bo');
  assert.deepEqual((await secondTab.receiveJson<{ entries: Array<{ key: string }> }>()).entries.map((entry) => entry.key), ['Ana', 'Bo']);
  const joined = await ana.receiveJson<{ $: string; joins: Array<{ key: string }>; leaves: string[] }>();
  assert.deepEqual([joined.$, joined.joins.map((entry) => entry.key), joined.leaves], ['presence_diff', ['Bo'], []]);

  const response = await GET(new Request('http://localhost/api/rooms/lobby/here'), { params: Promise.resolve({ room: 'lobby' }) });
  assert.deepEqual(await response.json(), { here: ['Ana', 'Bo'] });

  await bo.disconnect();
  assert.equal(await ana.receiveNothing(), true, 'Bo is still here in his other tab');
  await secondTab.disconnect();
  assert.deepEqual(await ana.receiveJson(), { $: 'presence_diff', group: 'room.lobby', joins: [], leaves: ['Bo'] });
  await ana.disconnect();
});

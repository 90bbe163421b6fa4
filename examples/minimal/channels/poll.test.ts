import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InMemoryChannelLayer } from 'next-channels';
import { WebsocketCommunicator } from 'next-channels/testing';
import { application } from './routing';

const origin = `http://localhost:${process.env.PORT ?? 3000}`;
const voter = (name: string) => ({ origin, cookie: `voter=${encodeURIComponent(name)}` });

test('asks a page without a voter to sign in, with a close it can read', async () => {
  const anonymous = new WebsocketCommunicator(application, '/ws/poll/', { headers: { origin }, layer: new InMemoryChannelLayer() });
  assert.deepEqual(await anonymous.connect(), { accepted: true });
  assert.equal(await anonymous.receiveClose(), 4401);
});

test('counts one vote per voter for everyone, answers the tally, and refuses what the schema does not allow', async () => {
  const layer = new InMemoryChannelLayer();
  const ana = new WebsocketCommunicator(application, '/ws/poll/', { headers: voter('Ana'), layer });
  const bo = new WebsocketCommunicator(application, '/ws/poll/', { headers: voter('小波'), layer });
  assert.deepEqual(await ana.connect(), { accepted: true });
  assert.deepEqual(await ana.receiveJson(), { type: 'votes', counts: { tea: 0, coffee: 0 } });
  assert.deepEqual(await ana.receiveJson(), { $: 'presence', group: 'poll', entries: [{ key: 'Ana', meta: { name: 'Ana' } }] });
  assert.deepEqual(await bo.connect(), { accepted: true });
  assert.deepEqual(await bo.receiveJson(), { type: 'votes', counts: { tea: 0, coffee: 0 } });
  const everyone = [
    { key: 'Ana', meta: { name: 'Ana' } },
    { key: '小波', meta: { name: '小波' } },
  ];
  assert.deepEqual(await bo.receiveJson(), { $: 'presence', group: 'poll', entries: everyone });
  assert.deepEqual(await ana.receiveJson(), { $: 'presence_diff', group: 'poll', joins: [everyone[1]], leaves: [] });

  ana.sendJson({ type: 'vote', option: 'tea' });
  ana.sendJson({ type: 'vote', option: 'coffee' });
  assert.deepEqual(await bo.receiveJson(), { type: 'votes', counts: { tea: 1, coffee: 0 } });
  assert.deepEqual(await bo.receiveJson(), { type: 'votes', counts: { tea: 0, coffee: 1 } });

  bo.sendJson({ $: 'req', ref: 't1', text: JSON.stringify({ type: 'tally' }) });
  assert.deepEqual(await bo.receiveJson(), { $: 'reply', ref: 't1', ok: true, body: { counts: { tea: 0, coffee: 1 }, voters: 1 } });
  bo.sendJson({ type: 'vote', option: 'cocoa' });
  assert.equal((await bo.receiveJson<{ $: string; code: string }>()).code, 'invalid_frame');

  for (const client of [ana, bo]) await client.disconnect();
});

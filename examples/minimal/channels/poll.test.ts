import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sealData } from 'iron-session';
import { InMemoryChannelLayer } from 'next-channels';
import { WebsocketCommunicator } from 'next-channels/testing';
import { type SessionData, sessionOptions, type User } from '../session';
import { application } from './routing';

const origin = `http://localhost:${process.env.PORT ?? 3000}`;

/** The headers of a page signed in as `user`: the cookie the login page's `session.save()` sets. */
async function signedIn(user: User) {
  const sealed = await sealData({ user } satisfies SessionData, sessionOptions);
  return { origin, cookie: `${sessionOptions.cookieName}=${sealed}` };
}

const ANA: User = { id: 'u-ana', name: 'Ana' };
const BO: User = { id: 'u-bo', name: '小波' };

test('asks a page without a session to sign in, with a close it can read', async () => {
  const anonymous = new WebsocketCommunicator(application, '/ws/poll/', { headers: { origin }, layer: new InMemoryChannelLayer() });
  assert.deepEqual(await anonymous.connect(), { accepted: true });
  assert.equal(await anonymous.receiveClose(), 4401);
});

test('takes an unsigned, altered or foreign cookie for nobody: 4401 on the poll, anonymous in the room', async () => {
  const real = (await signedIn(ANA)).cookie.split('=')[1]!;
  // One character changed in the seal's ciphertext (its fifth '*'-separated field).
  const fields = real.split('*');
  fields[4] = `${fields[4]![0] === 'A' ? 'B' : 'A'}${fields[4]!.slice(1)}`;
  const forged = [
    'Ana',
    JSON.stringify({ user: ANA }),
    fields.join('*'),
    await sealData({ user: ANA }, { password: 'not the password of this app, 32+ characters' }),
  ];
  for (const value of forged) {
    const cookie = `${sessionOptions.cookieName}=${encodeURIComponent(value)}`;
    const poll = new WebsocketCommunicator(application, '/ws/poll/', { headers: { origin, cookie }, layer: new InMemoryChannelLayer() });
    assert.deepEqual(await poll.connect(), { accepted: true });
    assert.equal(await poll.receiveClose(), 4401, `${value.slice(0, 20)}… let in`);
  }
  // The room is open to anyone: the same cookie is anonymous there, not refused.
  const room = new WebsocketCommunicator(application, '/ws/room/lobby/', { headers: { origin, cookie: `${sessionOptions.cookieName}=Ana` }, layer: new InMemoryChannelLayer() });
  assert.deepEqual(await room.connect(), { accepted: true });
  room.sendJson({ type: 'say', text: 'hello' });
  assert.deepEqual(await room.receiveJson(), { type: 'said', text: 'hello' });
  await room.disconnect();
});

test('lets in the user of a sealed cookie as scope.user (listed by id and name), counts one vote per user for everyone, answers the tally, and refuses what the schema does not allow', async () => {
  const layer = new InMemoryChannelLayer();
  const ana = new WebsocketCommunicator(application, '/ws/poll/', { headers: await signedIn(ANA), layer });
  const bo = new WebsocketCommunicator(application, '/ws/poll/', { headers: await signedIn(BO), layer });
  assert.deepEqual(await ana.connect(), { accepted: true });
  assert.deepEqual(await ana.receiveJson(), { type: 'votes', counts: { tea: 0, coffee: 0 } });
  assert.deepEqual(await ana.receiveJson(), { $: 'presence', group: 'poll', entries: [{ key: 'u-ana', meta: { name: 'Ana' } }] });
  assert.deepEqual(await bo.connect(), { accepted: true });
  assert.deepEqual(await bo.receiveJson(), { type: 'votes', counts: { tea: 0, coffee: 0 } });
  const everyone = [
    { key: 'u-ana', meta: { name: 'Ana' } },
    { key: 'u-bo', meta: { name: '小波' } },
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

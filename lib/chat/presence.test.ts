import assert from 'node:assert/strict';
import { it } from 'node:test';
import { LocalPresence } from './presence';

const ana = { id: 'u_ana', name: 'Ana' };
const bo = { id: 'u_bo', name: '波' };

it('counts a person once however many connections they have, until the last one leaves', async () => {
  const presence = new LocalPresence();
  assert.equal(await presence.join('r', ana, 'tab-1'), true);
  assert.equal(await presence.join('r', ana, 'tab-2'), false);
  assert.equal(await presence.join('r', bo, 'tab-3'), true);
  assert.deepEqual(await presence.list('r'), [
    { user_id: 'u_ana', user: 'Ana' },
    { user_id: 'u_bo', user: '波' },
  ]);
  assert.equal(await presence.leave('r', 'u_ana', 'tab-1'), false);
  assert.equal(await presence.leave('r', 'u_ana', 'tab-2'), true);
  assert.deepEqual(await presence.list('r'), [{ user_id: 'u_bo', user: '波' }]);
  assert.equal(await presence.leave('r', 'u_ana', 'tab-2'), false, 'leaving twice changes nothing');
  assert.deepEqual(await presence.list('other'), []);
});

it('takes the newest display name of a person', async () => {
  const presence = new LocalPresence();
  await presence.join('r', ana, 'tab-1');
  assert.equal(await presence.join('r', { id: 'u_ana', name: 'Ana María' }, 'tab-2'), true);
  assert.deepEqual(await presence.list('r'), [{ user_id: 'u_ana', user: 'Ana María' }]);
});

it('paces typing notices per person, not per connection', async () => {
  const presence = new LocalPresence();
  await presence.join('r', ana, 'tab-1');
  await presence.join('r', ana, 'tab-2');
  assert.equal(presence.mayAnnounceTyping('r', 'u_ana', 0, 2_000), true);
  assert.equal(presence.mayAnnounceTyping('r', 'u_ana', 1_999, 2_000), false);
  assert.equal(presence.mayAnnounceTyping('r', 'u_ana', 2_000, 2_000), true);
  assert.equal(presence.mayAnnounceTyping('r', 'u_nobody', 0, 2_000), false);
});

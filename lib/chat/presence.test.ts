import assert from 'node:assert/strict';
import { it } from 'node:test';
import { LocalPresence, type PresenceSnapshot } from './presence';

const ana = { id: 'u_ana', name: 'Ana' };
const bo = { id: 'u_bo', name: '波' };
const names = (snapshot: PresenceSnapshot): string[] => snapshot.frame.users.map((user) => user.user);

it('counts a person once however many connections they have, until the last one leaves', async () => {
  const presence = new LocalPresence({ changeIntervalMs: 0 });
  const heard: string[][] = [];
  presence.watch('r', { roomPresenceChanged: (snapshot) => heard.push(names(snapshot)) });
  await presence.join('r', ana, 'tab-1');
  await presence.join('r', ana, 'tab-2');
  await presence.join('r', bo, 'tab-3');
  assert.deepEqual(names(await presence.list('r')), ['Ana', '波']);
  await presence.leave('r', 'u_ana', 'tab-1');
  await presence.leave('r', 'u_ana', 'tab-2');
  await presence.leave('r', 'u_ana', 'tab-2');
  assert.deepEqual(heard, [['Ana'], ['Ana', '波'], ['波']], 'watchers hear only changes');
  assert.deepEqual(names(await presence.list('other')), []);
});

it('takes the newest display name of a person', async () => {
  const presence = new LocalPresence();
  await presence.join('r', ana, 'tab-1');
  await presence.join('r', { id: 'u_ana', name: 'Ana María' }, 'tab-2');
  assert.deepEqual(names(await presence.list('r')), ['Ana María']);
});

it('numbers lists so a watcher can keep the newest', async () => {
  const presence = new LocalPresence({ changeIntervalMs: 0 });
  const versions: number[] = [];
  presence.watch('r', { roomPresenceChanged: (snapshot) => versions.push(snapshot.version) });
  await presence.join('r', ana, 'tab-1');
  await presence.join('r', bo, 'tab-2');
  assert.equal(versions.length, 2);
  assert.ok(versions[1]! > versions[0]!);
  assert.ok((await presence.list('r')).version >= versions[1]!);
});

it('stops telling a watcher that stopped watching', async () => {
  const presence = new LocalPresence({ changeIntervalMs: 0 });
  let heard = 0;
  const watcher = { roomPresenceChanged: () => heard++ };
  presence.watch('r', watcher);
  await presence.join('r', ana, 'tab-1');
  presence.unwatch('r', watcher);
  await presence.join('r', bo, 'tab-2');
  assert.equal(heard, 1);
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

it('tells watchers of a burst of changes at once, then once more with the end of the burst', async () => {
  const presence = new LocalPresence({ changeIntervalMs: 20 });
  const heard: number[] = [];
  let burstHeard: () => void = () => {};
  const settled = new Promise<void>((resolve) => (burstHeard = resolve));
  presence.watch('r', {
    roomPresenceChanged(snapshot) {
      heard.push(snapshot.frame.users.length);
      if (snapshot.frame.users.length === 50) burstHeard();
    },
  });
  for (let index = 0; index < 50; index++) await presence.join('r', { id: `u_${index}`, name: `Person ${index}` }, `tab-${index}`);
  assert.deepEqual(heard, [1], 'the first change at once, the rest wait for the interval');
  assert.equal((await presence.list('r')).frame.users.length, 50, 'someone joining gets the list as it is');
  await settled;
  assert.deepEqual(heard, [1, 50]);
  await presence.close();
});

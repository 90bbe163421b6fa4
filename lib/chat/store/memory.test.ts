import assert from 'node:assert/strict';
import { it } from 'node:test';
import { MemoryMessageStore } from './memory';

it('numbers messages per room from 1 and stamps them with the time', async () => {
  const store = new MemoryMessageStore({ now: () => 1234 });
  const a = await store.append({ room: 'a', userId: 'u', user: 'U', text: 'one' });
  const b = await store.append({ room: 'b', userId: 'u', user: 'U', text: 'uno' });
  const a2 = await store.append({ room: 'a', userId: 'u', user: 'U', text: 'two' });
  assert.deepEqual([a.message.id, b.message.id, a2.message.id], ['1', '1', '2']);
  assert.equal(a.message.ts, 1234);
});

it('stores a (room, user, client_id) once', async () => {
  const store = new MemoryMessageStore();
  const first = await store.append({ room: 'a', userId: 'u', user: 'U', text: 'x', clientId: 'c' });
  const again = await store.append({ room: 'a', userId: 'u', user: 'U', text: 'x', clientId: 'c' });
  const otherUser = await store.append({ room: 'a', userId: 'v', user: 'V', text: 'x', clientId: 'c' });
  assert.equal(first.created, true);
  assert.deepEqual(again, { message: first.message, created: false });
  assert.equal(otherUser.created, true);
  assert.equal((await store.latest('a', 10)).messages.length, 2);
});

it('pages backwards', async () => {
  const store = new MemoryMessageStore();
  for (let n = 1; n <= 5; n++) await store.append({ room: 'r', userId: 'u', user: 'U', text: `m${n}` });
  assert.deepEqual((await store.latest('r', 2)).messages.map((m) => m.id), ['4', '5']);
  assert.deepEqual(await store.before('r', '3', 5).then((p) => [p.messages.map((m) => m.id), p.hasMore]), [['1', '2'], false]);
  assert.deepEqual(await store.latest('empty', 5), { messages: [], hasMore: false });
});

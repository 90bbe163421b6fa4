/**
 * The behaviour every `MessageStore` must have, as a test suite: each store's test file calls
 * `messageStoreConformance` with a factory. The PostgreSQL store runs it too.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { MessageStore, NewMessage } from './types';

export type StoreFactory = (options: { now: () => number }) => Promise<MessageStore>;

export function messageStoreConformance(name: string, makeStore: StoreFactory): void {
  describe(`${name} (message store conformance)`, () => {
    const stores: MessageStore[] = [];
    let clock = 1_700_000_000_000;
    const open = async (): Promise<MessageStore> => {
      const store = await makeStore({ now: () => clock });
      stores.push(store);
      return store;
    };
    after(async () => {
      await Promise.all(stores.map((store) => store.close()));
    });
    const message = (room: string, text: string, extra: Partial<NewMessage> = {}): NewMessage => ({
      room,
      userId: 'u_ana',
      user: 'Ana',
      text,
      ...extra,
    });
    const fill = async (store: MessageStore, room: string, count: number): Promise<void> => {
      for (let n = 1; n <= count; n++) await store.append(message(room, `m${n}`));
    };

    it('tells the newest id of each room asked for that holds messages', async () => {
      const store = await open();
      await fill(store, 'heads-a', 3);
      await fill(store, 'heads-b', 1);
      const heads = await store.heads(['heads-a', 'heads-b', 'heads-empty']);
      assert.deepEqual([...heads].sort(), [
        ['heads-a', '3'],
        ['heads-b', '1'],
      ]);
    });

    it('answers a ping', async () => {
      const store = await open();
      await store.ping();
    });

    it('numbers each room from 1, increasing, and keeps what it was given', async () => {
      const store = await open();
      clock = 1_700_000_000_123;
      const first = await store.append(message('alpha', '你好 👋', { clientId: 'c-1' }));
      assert.deepEqual(first, {
        created: true,
        message: { id: '1', room: 'alpha', userId: 'u_ana', user: 'Ana', text: '你好 👋', ts: 1_700_000_000_123, clientId: 'c-1' },
      });
      const other = await store.append(message('beta', 'x'));
      const second = await store.append(message('alpha', 'y', { userId: 'u_bo', user: '波' }));
      assert.deepEqual([other.message.id, second.message.id], ['1', '2']);
      assert.equal(second.message.clientId, undefined);
      assert.equal(second.message.user, '波');
    });

    it('stores a (room, user, client_id) once and returns the first message for a repeat', async () => {
      const store = await open();
      const first = await store.append(message('idem', 'once', { clientId: 'k' }));
      const repeat = await store.append(message('idem', 'once again?', { clientId: 'k' }));
      assert.deepEqual(repeat, { created: false, message: first.message });
      const otherUser = await store.append(message('idem', 'mine', { clientId: 'k', userId: 'u_bo' }));
      const otherRoom = await store.append(message('idem-2', 'there', { clientId: 'k' }));
      assert.equal(otherUser.created, true);
      assert.equal(otherUser.message.id, '2', 'a repeat uses up no id');
      assert.equal(otherRoom.created, true);
      assert.deepEqual((await store.latest('idem', 10)).messages.map((m) => m.text), ['once', 'mine']);
    });

    it('gives concurrent appends distinct, gap-free ids', async () => {
      const store = await open();
      const results = await Promise.all(Array.from({ length: 40 }, (_, n) => store.append(message('busy', `m${n}`))));
      const ids = results.map((result) => Number(result.message.id)).sort((a, b) => a - b);
      assert.deepEqual(ids, Array.from({ length: 40 }, (_, n) => n + 1));
    });

    it('keeps a message of 2,000 characters whole', async () => {
      const store = await open();
      const text = '字😀'.repeat(1000);
      await store.append(message('long', text));
      assert.equal((await store.latest('long', 1)).messages[0]?.text, text);
    });

    it('pages back from the newest, oldest first within a page', async () => {
      const store = await open();
      await fill(store, 'pages', 7);
      const latest = await store.latest('pages', 3);
      assert.deepEqual(latest.messages.map((m) => m.id), ['5', '6', '7']);
      assert.equal(latest.hasMore, true);
      const older = await store.before('pages', '5', 3);
      assert.deepEqual(older.messages.map((m) => m.id), ['2', '3', '4']);
      assert.equal(older.hasMore, true);
      const oldest = await store.before('pages', '2', 3);
      assert.deepEqual(oldest.messages.map((m) => m.id), ['1']);
      assert.equal(oldest.hasMore, false);
      assert.deepEqual(await store.latest('empty-room', 3), { messages: [], hasMore: false });
      assert.deepEqual(await store.latest('pages', 7).then((page) => page.hasMore), false);
    });

    it('reads forward after an id, and says when the room never reached it', async () => {
      const store = await open();
      await fill(store, 'resume', 5);
      assert.deepEqual((await store.after('resume', '2', 2))?.map((m) => m.id), ['3', '4']);
      assert.deepEqual((await store.after('resume', '4', 10))?.map((m) => m.id), ['5']);
      assert.deepEqual(await store.after('resume', '5', 10), []);
      assert.equal(await store.after('resume', '6', 10), null);
      assert.equal(await store.after('never-used', '1', 10), null);
    });

    it('keeps a revoked session revoked until its record expires, and only that one', async () => {
      const store = await open();
      clock = 1_700_000_000_000;
      assert.equal(await store.isSessionRevoked('s_ana'), false);
      await store.revokeSession('s_ana', clock + 1_000);
      assert.equal(await store.isSessionRevoked('s_ana'), true);
      assert.equal(await store.isSessionRevoked('s_bo'), false);
      // Revoked again with a later expiry: the later one holds; an earlier one never shortens it.
      await store.revokeSession('s_ana', clock + 5_000);
      await store.revokeSession('s_ana', clock + 2_000);
      clock += 4_000;
      assert.equal(await store.isSessionRevoked('s_ana'), true);
      clock += 1_000;
      assert.equal(await store.isSessionRevoked('s_ana'), false, 'every cookie of it has expired by now');
      await store.revokeSession('s_bo', clock + 1_000);
      assert.equal(await store.isSessionRevoked('s_bo'), true);
    });
  });
}

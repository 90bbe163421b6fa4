/**
 * The behaviour every `MessageStore` must have, as a test suite: each store's test file calls
 * `messageStoreConformance` with a factory. The PostgreSQL store runs it too.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { isEvent, MAX_EMOJI_PER_MESSAGE, type MessageStore, type NewMessage, type StoredMessage } from './types';

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


    // ---- edits, deletions, reactions, replies: events in the room's one sequence ----

    const ana = { userId: 'u_ana', user: 'Ana' };
    const bo = { userId: 'u_bo', user: '波' };
    const OPEN = 0; // every message is within the edit window

    it('numbers edits, deletions and reactions in the messages\' sequence, and folds them into the pages', async () => {
      const store = await open();
      clock = 1_700_000_100_000;
      await store.append(message('ev', '你好，世界'));
      clock += 1_000;
      const edit = await store.edit({ room: 'ev', ...ana, target: '1', text: '你好，朋友们', editableSince: OPEN });
      assert.deepEqual(edit, {
        ok: true,
        event: { kind: 'edit', id: '2', room: 'ev', target: '1', userId: 'u_ana', user: 'Ana', ts: 1_700_000_101_000, text: '你好，朋友们' },
      });
      await store.append(message('ev', '第二条', bo));
      const reaction = await store.react({ room: 'ev', ...bo, target: '1', emoji: '👍' });
      assert.ok(reaction.ok);
      assert.deepEqual([reaction.event.id, reaction.event.on, reaction.event.count], ['4', true, 1]);
      assert.deepEqual([...(await store.heads(['ev']))], [['ev', '4']]);
      const latest = await store.latest('ev', 10);
      assert.equal(latest.head, '4');
      assert.deepEqual(latest.messages.map((m) => m.id), ['1', '3'], 'pages list messages only');
      assert.deepEqual(latest.messages[0], {
        id: '1',
        room: 'ev',
        userId: 'u_ana',
        user: 'Ana',
        text: '你好，朋友们',
        ts: 1_700_000_100_000,
        editedAt: 1_700_000_101_000,
        reactions: [{ emoji: '👍', count: 1, userIds: ['u_bo'] }],
      });
      assert.deepEqual((await store.before('ev', '3', 10)).messages.map((m) => m.id), ['1']);
      assert.deepEqual((await store.message('ev', '1'))?.text, '你好，朋友们');
      assert.equal(await store.message('ev', '2'), null, 'an event is no message');
      const resumed = (await store.after('ev', '0', 10)) ?? [];
      assert.deepEqual(
        resumed.map((entry) => (isEvent(entry) ? `${entry.kind}:${entry.id}>${entry.target}` : `message:${entry.id}`)),
        ['message:1', 'edit:2>1', 'message:3', 'reaction:4>1'],
      );
      assert.deepEqual(await store.after('ev', '4', 10), []);
      assert.equal(await store.after('ev', '5', 10), null);
    });

    it('lets only the author edit, within the window, a message that is there', async () => {
      const store = await open();
      clock = 1_700_000_200_000;
      await store.append(message('edit-rules', '原文'));
      const edit = (extra: Partial<{ userId: string; user: string; target: string; editableSince: number }>) =>
        store.edit({ room: 'edit-rules', ...ana, target: '1', text: '改过', editableSince: OPEN, ...extra });
      assert.deepEqual(await edit(bo), { ok: false, reason: 'forbidden' });
      assert.deepEqual(await edit({ editableSince: clock + 1 }), { ok: false, reason: 'too_late' });
      assert.deepEqual(await edit({ target: '9' }), { ok: false, reason: 'not_found' });
      assert.deepEqual(await edit({ target: '99999999999999999999' }), { ok: false, reason: 'not_found' });
      assert.equal((await edit({})).ok, true);
      assert.deepEqual(await edit({ target: '2' }), { ok: false, reason: 'not_found' }, 'an edit is not a message to edit');
      assert.deepEqual(await store.edit({ room: 'elsewhere', ...ana, target: '1', text: 'x', editableSince: OPEN }), { ok: false, reason: 'not_found' });
      assert.deepEqual([...(await store.heads(['edit-rules']))], [['edit-rules', '2']], 'a refusal uses up no id');
    });

    it('wipes a deleted message\'s text and its edits\' from the store, leaving a tombstone', async () => {
      const store = await open();
      clock = 1_700_000_300_000;
      await store.append(message('del', '秘密：我的密码'));
      await store.edit({ room: 'del', ...ana, target: '1', text: '秘密：新的密码', editableSince: OPEN });
      await store.react({ room: 'del', ...bo, target: '1', emoji: '😀' });
      assert.deepEqual(await store.remove({ room: 'del', ...bo, target: '1', as: 'author' }), { ok: false, reason: 'forbidden' });
      const removed = await store.remove({ room: 'del', ...ana, target: '1', as: 'author' });
      assert.ok(removed.ok);
      assert.deepEqual([removed.event.kind, removed.event.id, removed.event.target], ['delete', '4', '1']);
      const [tombstone] = (await store.latest('del', 10)).messages;
      assert.equal(tombstone?.deleted, true);
      assert.equal(tombstone?.text, '');
      assert.equal(tombstone?.reactions, undefined);
      const log = (await store.after('del', '0', 10)) ?? [];
      assert.equal(JSON.stringify(log).includes('密码'), false, 'no old text anywhere in the log');
      assert.deepEqual(await store.remove({ room: 'del', ...ana, target: '1', as: 'author' }), { ok: false, reason: 'deleted' });
      assert.deepEqual(await store.edit({ room: 'del', ...ana, target: '1', text: 'x', editableSince: OPEN }), { ok: false, reason: 'deleted' });
      assert.deepEqual(await store.react({ room: 'del', ...ana, target: '1', emoji: '😀' }), { ok: false, reason: 'deleted' });
      await store.append(message('del', '别人的', bo));
      assert.equal((await store.remove({ room: 'del', ...ana, target: '5', as: 'moderator' })).ok, true, 'a moderator deletes anyone\'s');
    });

    it('keeps one reaction per person and emoji, toggled, counted, and bounded', async () => {
      const store = await open();
      await store.append(message('react', '投票'));
      const react = (who: { userId: string; user: string }, emoji: string, on?: boolean) =>
        store.react({ room: 'react', ...who, target: '1', emoji, ...(on === undefined ? {} : { on }) });
      assert.deepEqual(await react(ana, '👍', false), { ok: false, reason: 'unchanged' });
      assert.equal((await react(ana, '👍')).ok, true);
      assert.deepEqual(await react(ana, '👍', true), { ok: false, reason: 'unchanged' });
      const second = await react(bo, '👍');
      assert.ok(second.ok);
      assert.equal(second.event.count, 2);
      await react(bo, '🇨🇳');
      const off = await react(ana, '👍');
      assert.ok(off.ok);
      assert.deepEqual([off.event.on, off.event.count], [false, 1]);
      assert.deepEqual((await store.message('react', '1'))?.reactions, [
        { emoji: '👍', count: 1, userIds: ['u_bo'] },
        { emoji: '🇨🇳', count: 1, userIds: ['u_bo'] },
      ]);
      const many = ['😀', '😁', '😂', '🤣', '😃', '😄', '😅', '😆', '😉', '😊', '😋', '😎', '😍', '😘', '🥰', '😗', '😙', '🥲', '😚', '🙂'];
      for (const emoji of many.slice(0, MAX_EMOJI_PER_MESSAGE - 2)) assert.equal((await react(ana, emoji)).ok, true);
      assert.deepEqual(await react(ana, '🙃'), { ok: false, reason: 'too_many_reactions' });
      assert.equal((await react(ana, '👍')).ok, true, 'an emoji already there may still be added to');
    });

    it('quotes the parent of a reply as it reads now, and still when it is deleted', async () => {
      const store = await open();
      const long = '长'.repeat(150);
      await store.append(message('reply', long, bo));
      const reply = await store.append(message('reply', '同意', { replyTo: '1' }));
      assert.deepEqual(reply.message.replyTo, { id: '1', userId: 'u_bo', user: '波', text: `${'长'.repeat(100)}…` });
      await store.remove({ room: 'reply', ...bo, target: '1', as: 'author' });
      const [, shown] = (await store.latest('reply', 10)).messages as StoredMessage[];
      assert.deepEqual(shown?.replyTo, { id: '1', userId: 'u_bo', user: '波', text: '', deleted: true });
      const resumed = (await store.after('reply', '1', 10)) ?? [];
      assert.deepEqual(resumed[0] && !isEvent(resumed[0]) ? resumed[0].replyTo : null, { id: '1', userId: 'u_bo', user: '波', text: '', deleted: true });
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

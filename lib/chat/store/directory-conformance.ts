/**
 * The behaviour every store's `Directory` must have, as a test suite: each store's test file
 * calls `directoryConformance` with the same factory it gives `messageStoreConformance`.
 * `MemoryDirectory` defines the behaviour; the databases must agree with it.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { StoreFactory } from './conformance';
import { type Account, type InviteRecord, MAX_UNREAD_COUNTED, MAX_VISITED_ROOMS, type NewMember, type RoomRecord } from './directory';
import type { MessageStore, StoredMessage } from './types';

export function directoryConformance(name: string, makeStore: StoreFactory): void {
  describe(`${name} (directory conformance)`, () => {
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

    const account = (userId: string, username: string, extra: Partial<Account> = {}): Account => ({
      userId,
      username,
      usernameKey: username.toLowerCase(),
      passwordHash: `scrypt$16384$8$1$salt$${userId}`,
      createdAt: clock,
      ...extra,
    });
    const privateRoom = (room: string, title: string, ownerId: string): RoomRecord => ({ room, kind: 'private', title, ownerId, createdAt: clock });
    const owner = (userId: string, name: string): NewMember => ({ userId, name, role: 'owner' });
    const member = (userId: string, name: string): NewMember => ({ userId, name, role: 'member' });
    const say = async (store: MessageStore, room: string, userId: string, text: string, clientId?: string): Promise<StoredMessage> => {
      const { message } = await store.append({ room, userId, user: userId.replace('u_', ''), text, ...(clientId === undefined ? {} : { clientId }) });
      return message;
    };

    describe('accounts', () => {
      it('creates an account, found by its username key and by its user id', async () => {
        const { directory } = await open();
        const lei = account('u_lei', 'Léi李雷');
        assert.equal(await directory.accountByUserId('u_lei'), null);
        assert.equal(await directory.accountByUsername('léi李雷'), null);
        assert.equal(await directory.createAccount(lei), 'created');
        assert.deepEqual(await directory.accountByUserId('u_lei'), lei);
        assert.deepEqual(await directory.accountByUsername('léi李雷'), lei);
        assert.equal(await directory.accountByUsername('Léi李雷'), null, 'looked up by the case-folded key only');
        assert.equal(await directory.accountByUserId('u_han'), null);
      });

      it('refuses a taken username or a second account for a user id, changing nothing', async () => {
        const { directory } = await open();
        const mei = account('u_mei', '韩梅梅');
        assert.equal(await directory.createAccount(mei), 'created');

        assert.equal(await directory.createAccount(account('u_other', '韩梅梅', { passwordHash: 'scrypt$other' })), 'username_taken');
        assert.equal(await directory.accountByUserId('u_other'), null);
        assert.deepEqual(await directory.accountByUsername('韩梅梅'), mei);

        assert.equal(await directory.createAccount(account('u_mei', '梅梅二号')), 'account_exists');
        assert.equal(await directory.accountByUsername('梅梅二号'), null);
        assert.deepEqual(await directory.accountByUserId('u_mei'), mei);

        assert.equal(await directory.createAccount(account('u_mei', '韩梅梅', { passwordHash: 'scrypt$again' })), 'username_taken', 'the username is told first');
        assert.deepEqual(await directory.accountByUserId('u_mei'), mei);
      });

      it("changes an account's password hash, and no other account's", async () => {
        const { directory } = await open();
        const ana = account('u_ana', 'Ana');
        const bo = account('u_bo', '波');
        await directory.createAccount(ana);
        await directory.createAccount(bo);
        await directory.setPasswordHash('u_ana', 'scrypt$new');
        assert.deepEqual(await directory.accountByUserId('u_ana'), { ...ana, passwordHash: 'scrypt$new' });
        assert.deepEqual(await directory.accountByUsername('ana'), { ...ana, passwordHash: 'scrypt$new' });
        assert.deepEqual(await directory.accountByUserId('u_bo'), bo);
        await directory.setPasswordHash('u_nobody', 'scrypt$x');
        assert.equal(await directory.accountByUserId('u_nobody'), null);
      });

      it("lists an account's sessions until they expire by the store's clock, and forgets a removed one", async () => {
        const { directory } = await open();
        clock = 1_700_000_000_000;
        await directory.addAccountSession('u_ana', 's_1', clock + 1_000);
        await directory.addAccountSession('u_ana', 's_2', clock + 5_000);
        await directory.addAccountSession('u_bo', 's_3', clock + 5_000);
        assert.deepEqual([...(await directory.accountSessions('u_ana'))].sort(), ['s_1', 's_2']);
        assert.deepEqual(await directory.accountSessions('u_bo'), ['s_3']);
        assert.deepEqual(await directory.accountSessions('u_cy'), []);
        clock += 1_000;
        assert.deepEqual(await directory.accountSessions('u_ana'), ['s_2'], 'expired at its expiry');
        await directory.removeAccountSession('s_2');
        await directory.removeAccountSession('s_unknown');
        assert.deepEqual(await directory.accountSessions('u_ana'), []);
        assert.deepEqual(await directory.accountSessions('u_bo'), ['s_3']);
      });
    });

    describe('rooms and members', () => {
      it('creates a room with its members in one go; a second room of the name is refused, changing nothing', async () => {
        const { directory } = await open();
        clock = 1_700_000_100_000;
        const record = privateRoom('_书房', '读书会 📚', 'u_zhou');
        assert.equal(await directory.room('_书房'), null);
        // Listed in the order given, not by user id: the owner first.
        assert.equal(await directory.createRoom(record, [owner('u_zhou', '周杰'), member('u_an', '安娜')]), true);
        assert.deepEqual(await directory.room('_书房'), record);
        const members = [
          { userId: 'u_zhou', name: '周杰', role: 'owner', joinedAt: clock, lastReadId: null },
          { userId: 'u_an', name: '安娜', role: 'member', joinedAt: clock, lastReadId: null },
        ];
        assert.deepEqual(await directory.members('_书房', 10), members);
        assert.equal(await directory.memberCount('_书房'), 2);

        clock += 1_000;
        const again: RoomRecord = { room: '_书房', kind: 'direct', title: '别的', ownerId: 'u_cy', createdAt: clock };
        assert.equal(await directory.createRoom(again, [owner('u_an', 'Ana'), member('u_cy', '茜')]), false);
        assert.deepEqual(await directory.room('_书房'), record);
        assert.deepEqual(await directory.members('_书房', 10), members);
        assert.equal(await directory.member('_书房', 'u_cy'), null);
      });

      it('creates a room without members', async () => {
        const { directory } = await open();
        const record: RoomRecord = { room: '_dm:u_a:u_b', kind: 'direct', title: '', ownerId: null, createdAt: clock };
        assert.equal(await directory.createRoom(record, []), true);
        assert.deepEqual(await directory.room('_dm:u_a:u_b'), record);
        assert.equal(await directory.memberCount('_dm:u_a:u_b'), 0);
        assert.deepEqual(await directory.members('_dm:u_a:u_b', 10), []);
      });

      it('lists members in the order they joined, at most the limit, and counts them', async () => {
        const { directory } = await open();
        clock = 1_700_000_200_000;
        const start = clock;
        await directory.createRoom(privateRoom('_茶室', '茶室', 'u_zhou'), [owner('u_zhou', '周')]);
        assert.equal(await directory.addMember('_茶室', member('u_cy', '茜'), start + 20), true);
        assert.equal(await directory.addMember('_茶室', member('u_an', '安'), start + 10), true);
        assert.equal(await directory.addMember('_茶室', member('u_bo', '波'), start + 30), true);
        assert.deepEqual(
          (await directory.members('_茶室', 10)).map((found) => [found.userId, found.joinedAt]),
          [['u_zhou', start], ['u_an', start + 10], ['u_cy', start + 20], ['u_bo', start + 30]],
        );
        assert.deepEqual((await directory.members('_茶室', 2)).map((found) => found.userId), ['u_zhou', 'u_an']);
        assert.equal(await directory.memberCount('_茶室'), 4);
        assert.deepEqual(await directory.member('_茶室', 'u_cy'), { userId: 'u_cy', name: '茜', role: 'member', joinedAt: start + 20, lastReadId: null });
        assert.equal(await directory.member('_茶室', 'u_nobody'), null);
        assert.equal(await directory.member('_别处', 'u_cy'), null);
        assert.equal(await directory.memberCount('_别处'), 0);
        assert.deepEqual(await directory.members('_别处', 10), []);
      });

      it('answers false for someone in already, raising their role but never lowering it', async () => {
        const { directory } = await open();
        clock = 1_700_000_300_000;
        const start = clock;
        await directory.createRoom(privateRoom('_画室', '画室', 'u_zhou'), [owner('u_zhou', '周')]);
        assert.equal(await directory.addMember('_画室', { userId: 'u_an', name: '安', role: 'visitor' }, start + 10), true);
        assert.equal(await directory.addMember('_画室', { userId: 'u_an', name: '安娜', role: 'visitor' }, start + 20), false);
        assert.equal((await directory.member('_画室', 'u_an'))?.role, 'visitor');
        assert.equal(await directory.addMember('_画室', member('u_an', '安娜'), start + 30), false);
        assert.deepEqual(await directory.member('_画室', 'u_an'), { userId: 'u_an', name: '安', role: 'member', joinedAt: start + 10, lastReadId: null });
        assert.equal(await directory.addMember('_画室', { userId: 'u_an', name: '安', role: 'visitor' }, start + 40), false);
        assert.equal((await directory.member('_画室', 'u_an'))?.role, 'member', 'a visitor again is still a member');
        assert.equal(await directory.addMember('_画室', member('u_zhou', '周'), start + 50), false);
        assert.equal((await directory.member('_画室', 'u_zhou'))?.role, 'owner', 'an owner added as a member stays owner');
        assert.equal(await directory.memberCount('_画室'), 2);
      });

      it('removes a member, answering false when they were not one', async () => {
        const { directory } = await open();
        await directory.createRoom(privateRoom('_琴房', '琴房', 'u_zhou'), [owner('u_zhou', '周'), member('u_an', '安')]);
        assert.equal(await directory.removeMember('_琴房', 'u_an'), true);
        assert.equal(await directory.member('_琴房', 'u_an'), null);
        assert.equal(await directory.memberCount('_琴房'), 1);
        assert.equal(await directory.removeMember('_琴房', 'u_an'), false);
        assert.equal(await directory.removeMember('_别处', 'u_zhou'), false);
        assert.equal((await directory.member('_琴房', 'u_zhou'))?.role, 'owner');
      });
    });

    describe('visits', () => {
      it('records a visitor, keeps a member a member, and moves the room to the top of their list', async () => {
        const { directory } = await open();
        clock = 1_700_000_400_000;
        const start = clock;
        await directory.createRoom(privateRoom('_书房', '书房', 'u_zhou'), [owner('u_zhou', '周'), member('u_an', '安')]);
        await directory.recordVisit('大厅', 'u_an', '安娜', start + 10);
        assert.deepEqual(await directory.member('大厅', 'u_an'), { userId: 'u_an', name: '安娜', role: 'visitor', joinedAt: start + 10, lastReadId: null });
        assert.deepEqual((await directory.roomsOf('u_an', 10)).map((entry) => [entry.room, entry.activeAt]), [['大厅', start + 10], ['_书房', start]]);

        await directory.recordVisit('_书房', 'u_an', 'Ana', start + 20);
        assert.deepEqual(await directory.member('_书房', 'u_an'), { userId: 'u_an', name: '安', role: 'member', joinedAt: start, lastReadId: null });
        assert.deepEqual((await directory.roomsOf('u_an', 10)).map((entry) => [entry.room, entry.role, entry.activeAt]), [
          ['_书房', 'member', start + 20],
          ['大厅', 'visitor', start + 10],
        ]);

        await directory.recordVisit('大厅', 'u_an', '安娜', start + 30);
        assert.equal((await directory.member('大厅', 'u_an'))?.joinedAt, start + 10, 'a second visit is no second joining');
        assert.deepEqual((await directory.roomsOf('u_an', 10)).map((entry) => entry.room), ['大厅', '_书房']);
        assert.equal(await directory.memberCount('大厅'), 1);
      });

      it(`keeps at most ${MAX_VISITED_ROOMS} visited rooms a person, forgetting the least recently visited, never a room they belong to`, async () => {
        const { directory } = await open();
        const start = 1_700_000_500_000;
        await directory.createRoom({ ...privateRoom('_老房间', '老房间', 'u_an'), createdAt: start - 1_000 }, [owner('u_an', '安')]);
        await directory.createRoom({ ...privateRoom('_旧群', '旧群', 'u_zhou'), createdAt: start - 500 }, [owner('u_zhou', '周'), member('u_an', '安')]);
        await directory.recordVisit('房间1', 'u_bo', '波', start);
        for (let n = 0; n < MAX_VISITED_ROOMS; n++) await directory.recordVisit(`房间${n}`, 'u_an', '安', start + n);
        assert.equal((await directory.roomsOf('u_an', 1_000)).length, MAX_VISITED_ROOMS + 2);

        // 房间0 visited again: 房间1 is now the least recently visited, then 房间2.
        await directory.recordVisit('房间0', 'u_an', '安', start + 1_000);
        await directory.recordVisit('新房间', 'u_an', '安', start + 1_001);
        await directory.recordVisit('又一个', 'u_an', '安', start + 1_002);
        const rooms = (await directory.roomsOf('u_an', 1_000)).map((entry) => entry.room);
        assert.equal(rooms.length, MAX_VISITED_ROOMS + 2);
        assert.deepEqual(rooms.slice(0, 3), ['又一个', '新房间', '房间0']);
        assert.deepEqual(rooms.slice(-2), ['_旧群', '_老房间']);
        assert.equal(await directory.member('房间1', 'u_an'), null);
        assert.equal(await directory.member('房间2', 'u_an'), null);
        assert.equal((await directory.member('房间3', 'u_an'))?.role, 'visitor');
        assert.equal((await directory.member('_老房间', 'u_an'))?.role, 'owner');
        assert.equal((await directory.member('_旧群', 'u_an'))?.role, 'member');
        assert.equal((await directory.member('房间1', 'u_bo'))?.role, 'visitor', "another person's visits are theirs");
      });
    });

    describe('read markers', () => {
      it('moves a read marker forward only, comparing ids as numbers', async () => {
        const { directory } = await open();
        await directory.createRoom(privateRoom('_书房', '书房', 'u_zhou'), [owner('u_zhou', '周')]);
        assert.equal(await directory.markRead('_书房', 'u_zhou', '3'), true);
        assert.equal((await directory.member('_书房', 'u_zhou'))?.lastReadId, '3');
        assert.equal(await directory.markRead('_书房', 'u_zhou', '2'), false);
        assert.equal(await directory.markRead('_书房', 'u_zhou', '3'), false);
        assert.equal((await directory.member('_书房', 'u_zhou'))?.lastReadId, '3');
        await directory.markRead('_书房', 'u_zhou', '9');
        assert.equal(await directory.markRead('_书房', 'u_zhou', '10'), true);
        assert.equal((await directory.member('_书房', 'u_zhou'))?.lastReadId, '10');
        assert.equal(await directory.markRead('_书房', 'u_zhou', '9'), false);
        assert.equal((await directory.member('_书房', 'u_zhou'))?.lastReadId, '10', "'9' is before '10'");
      });

      it('marks nothing for someone not in the room', async () => {
        const { directory } = await open();
        await directory.createRoom(privateRoom('_书房', '书房', 'u_zhou'), [owner('u_zhou', '周')]);
        assert.equal(await directory.markRead('_书房', 'u_an', '5'), false);
        assert.equal(await directory.markRead('大厅', 'u_an', '5'), false);
        assert.equal(await directory.member('_书房', 'u_an'), null);
        assert.equal(await directory.member('大厅', 'u_an'), null);
        assert.equal(await directory.memberCount('_书房'), 1);
        assert.deepEqual(await directory.roomsOf('u_an', 10), []);
      });
    });

    describe('room lists', () => {
      it('counts and shows messages only: edits, reactions and deleted messages are not unread, a deleted last message is a tombstone', async () => {
        const store = await open();
        const { directory } = store;
        await directory.createRoom(privateRoom('_事件', '事件', 'u_an'), [owner('u_an', '安'), member('u_bo', '波')]);
        const first = await say(store, '_事件', 'u_bo', '第一条');
        await say(store, '_事件', 'u_bo', '第二条：秘密');
        await directory.markRead('_事件', 'u_an', first.id);
        await store.edit({ room: '_事件', userId: 'u_bo', user: '波', target: first.id, text: '第一条（改）', editableSince: 0 });
        await store.react({ room: '_事件', userId: 'u_bo', user: '波', target: first.id, emoji: '👍' });
        let [entry] = await directory.roomsOf('u_an', 10);
        assert.deepEqual([entry?.unread, entry?.last?.id, entry?.last?.text], [1, '2', '第二条：秘密']);
        await store.remove({ room: '_事件', userId: 'u_bo', user: '波', target: '2', as: 'author' });
        [entry] = await directory.roomsOf('u_an', 10);
        assert.deepEqual([entry?.unread, entry?.last?.id, entry?.last?.text, entry?.last?.deleted], [0, '2', '', true]);
      });

      it("tells each room's kind, title, role, read marker, newest message and unread count", async () => {
        const store = await open();
        const { directory } = store;
        clock = 1_700_000_600_000;
        const start = clock;
        await directory.createRoom(privateRoom('_书房', '读书会 📚', 'u_an'), [owner('u_an', '安'), member('u_bo', '波')]);
        clock += 10;
        await directory.createRoom({ room: '_dm', kind: 'direct', title: '', ownerId: null, createdAt: clock }, [member('u_bo', '波'), member('u_an', '安')]);
        clock += 10;
        await directory.recordVisit('大厅', 'u_an', '安', clock);
        clock += 10;
        const first = await say(store, '_书房', 'u_bo', '你好');
        clock += 10;
        await say(store, '_书房', 'u_an', '我也在');
        clock += 10;
        await say(store, '_书房', 'u_bo', '第三条');
        clock += 10;
        const newest = await say(store, '_书房', 'u_bo', '最新的消息 🎉', 'c-最新');
        await directory.markRead('_书房', 'u_an', first.id);
        clock += 10;
        const hall = await say(store, '大厅', 'u_cy', '大家好');
        await say(store, '别的房间', 'u_cy', '无关');

        assert.deepEqual(await directory.roomsOf('u_an', 10), [
          { room: '大厅', kind: 'public', title: '', role: 'visitor', lastReadId: null, last: hall, unread: 1, activeAt: start + 20 },
          { room: '_书房', kind: 'private', title: '读书会 📚', role: 'owner', lastReadId: '1', last: newest, unread: 2, activeAt: start },
          { room: '_dm', kind: 'direct', title: '', role: 'member', lastReadId: null, last: null, unread: 0, activeAt: start + 10 },
        ]);
        assert.equal(newest.clientId, 'c-最新');
        assert.deepEqual(
          (await directory.roomsOf('u_bo', 10)).map((entry) => [entry.room, entry.unread]),
          [['_书房', 1], ['_dm', 0]],
          'their own messages are not unread',
        );
        assert.deepEqual(await directory.roomsOf('u_nobody', 10), []);
      });

      it(`counts unread messages after the read marker, as numbers, up to ${MAX_UNREAD_COUNTED}`, async () => {
        const store = await open();
        const { directory } = store;
        await directory.recordVisit('闲聊', 'u_an', '安', clock);
        for (let n = 1; n <= 12; n++) await say(store, '闲聊', n === 11 ? 'u_an' : 'u_bo', `第${n}条`);
        await directory.markRead('闲聊', 'u_an', '9');
        assert.equal((await directory.roomsOf('u_an', 10))[0]?.unread, 2, "'10' and '12' come after '9'; '11' is their own");

        const more = MAX_UNREAD_COUNTED + 5;
        await Promise.all(Array.from({ length: more }, (_, n) => say(store, '闲聊', 'u_bo', `又一条 ${n}`)));
        assert.equal((await directory.roomsOf('u_an', 10))[0]?.unread, MAX_UNREAD_COUNTED);
        await directory.markRead('闲聊', 'u_an', String(12 + more - 7));
        assert.equal((await directory.roomsOf('u_an', 10))[0]?.unread, 7);
        await directory.markRead('闲聊', 'u_an', String(12 + more));
        assert.equal((await directory.roomsOf('u_an', 10))[0]?.unread, 0);
      });

      it('orders rooms by their newest message or when the person last opened them, whichever is later, at most the limit', async () => {
        const store = await open();
        const { directory } = store;
        const start = 1_700_000_700_000;
        clock = start;
        await directory.recordVisit('甲', 'u_an', '安', start + 1);
        await directory.recordVisit('乙', 'u_an', '安', start + 3);
        await directory.recordVisit('丙', 'u_an', '安', start + 4);
        clock = start + 2;
        await say(store, '丙', 'u_bo', '早');
        clock = start + 5;
        await say(store, '甲', 'u_bo', '晚');
        // 甲: message at +5; 丙: opened at +4 after its message at +2; 乙: opened at +3, no message.
        assert.deepEqual((await directory.roomsOf('u_an', 10)).map((entry) => entry.room), ['甲', '丙', '乙']);
        assert.deepEqual((await directory.roomsOf('u_an', 2)).map((entry) => entry.room), ['甲', '丙']);
        await directory.recordVisit('乙', 'u_an', '安', start + 6);
        assert.deepEqual((await directory.roomsOf('u_an', 1)).map((entry) => entry.room), ['乙']);
      });
    });

    describe('invitations', () => {
      const invite = (tokenHash: string, room: string, createdAt: number, expiresAt: number): InviteRecord => ({
        tokenHash,
        room,
        createdBy: 'u_zhou',
        createdAt,
        expiresAt,
      });

      it("finds an invitation by its token hash until it expires, and lists a room's newest first", async () => {
        const { directory } = await open();
        const start = 1_700_000_800_000;
        const older = invite('哈希-1', '_书房', start, start + 1_000);
        const newer = invite('哈希-2', '_书房', start + 10, start + 5_000);
        const elsewhere = invite('哈希-3', '_茶室', start + 20, start + 5_000);
        await directory.createInvite(older);
        await directory.createInvite(newer);
        await directory.createInvite(elsewhere);
        assert.deepEqual(await directory.invite('哈希-1', start + 999), older);
        assert.equal(await directory.invite('哈希-1', start + 1_000), null, 'expired at its expiry');
        assert.deepEqual(await directory.invite('哈希-1', start), older, 'expiry is by the time asked about');
        assert.equal(await directory.invite('哈希-无', start), null);
        assert.deepEqual(await directory.invites('_书房', start + 500), [newer, older]);
        assert.deepEqual(await directory.invites('_书房', start + 1_000), [newer]);
        assert.deepEqual(await directory.invites('_茶室', start), [elsewhere]);
        assert.deepEqual(await directory.invites('_别处', start), []);
      });

      it("revokes an invitation of the room, and no other room's", async () => {
        const { directory } = await open();
        const start = 1_700_000_900_000;
        const mine = invite('哈希-1', '_书房', start, start + 5_000);
        const theirs = invite('哈希-2', '_茶室', start, start + 5_000);
        await directory.createInvite(mine);
        await directory.createInvite(theirs);
        assert.equal(await directory.revokeInvite('_书房', '哈希-2'), false);
        assert.deepEqual(await directory.invite('哈希-2', start), theirs);
        assert.equal(await directory.revokeInvite('_书房', '哈希-无'), false);
        assert.equal(await directory.revokeInvite('_书房', '哈希-1'), true);
        assert.equal(await directory.invite('哈希-1', start), null);
        assert.deepEqual(await directory.invites('_书房', start), []);
        assert.equal(await directory.revokeInvite('_书房', '哈希-1'), false);
        assert.deepEqual(await directory.invites('_茶室', start), [theirs]);
      });
    });
  });
}

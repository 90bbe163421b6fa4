import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { messageTokens, queryParts, tokensMatch } from '../search-text';
import type { StoreFactory } from './conformance';
import type { MessageStore, SearchHit, SearchOptions } from './types';

/**
 * What every store's `search` answers, exactly: run on the memory, SQLite and PostgreSQL stores,
 * the same data gives the same hits in the same order. Chinese, Japanese, Korean and mixed text,
 * width and case variants, word boundaries, rooms not given, limit and paging.
 */
export function searchConformance(name: string, makeStore: StoreFactory): void {
  describe(`${name} (search conformance)`, () => {
    const stores: MessageStore[] = [];
    let clock = 1_700_000_000_000;
    after(async () => {
      await Promise.all(stores.map((store) => store.close()));
    });
    /** A store holding `texts` in `room` (or `[room, text]` pairs), one second apart, oldest first. */
    const storeWith = async (messages: ReadonlyArray<string | readonly [string, string]>, room = 'r'): Promise<MessageStore> => {
      const store = await makeStore({ now: () => clock });
      stores.push(store);
      for (const entry of messages) {
        const [where, text] = typeof entry === 'string' ? [room, entry] : entry;
        clock += 1_000;
        await store.append({ room: where, userId: 'u_ana', user: 'Ana', text });
      }
      return store;
    };
    const texts = async (store: MessageStore, query: string, rooms: readonly string[] = ['r'], options: SearchOptions = { limit: 50 }): Promise<string[]> =>
      (await store.search(rooms, query, options)).map((hit) => hit.message.text);

    it('finds two-character Chinese words inside sentences, newest first, and nothing else', async () => {
      const store = await storeWith(['明天在北京开会议', '北京烤鸭很好吃', '我们开会吧', '南京大学', '会议室在三楼', '今天天气很好']);
      assert.deepEqual(await texts(store, '北京'), ['北京烤鸭很好吃', '明天在北京开会议']);
      assert.deepEqual(await texts(store, '会议'), ['会议室在三楼', '明天在北京开会议']);
      assert.deepEqual(await texts(store, '开会'), ['我们开会吧', '明天在北京开会议']);
      assert.deepEqual(await texts(store, '北京会议'), [], 'a phrase: the characters in a row');
      assert.deepEqual(await texts(store, '北京 会议'), ['明天在北京开会议'], 'two parts: both, anywhere');
      assert.deepEqual(await texts(store, '上海'), []);
    });

    it('finds a single CJK character anywhere in a run, last character included', async () => {
      const store = await storeWith(['去北京', '京都很美', '南方', '东京タワー']);
      assert.deepEqual(await texts(store, '京'), ['东京タワー', '京都很美', '去北京']);
      assert.deepEqual(await texts(store, '方'), ['南方']);
      assert.deepEqual(await texts(store, 'ー'), ['东京タワー']);
    });

    it('finds Japanese in hiragana, katakana and kanji, half-width katakana as full-width', async () => {
      const store = await storeWith(['東京でミーティングをしましょう', 'ラーメンを食べたい', 'ﾃｽﾄです', '会議は明日です']);
      assert.deepEqual(await texts(store, 'ミーティング'), ['東京でミーティングをしましょう']);
      assert.deepEqual(await texts(store, 'ﾐｰﾃｨﾝｸﾞ'), ['東京でミーティングをしましょう'], 'half-width query');
      assert.deepEqual(await texts(store, 'テスト'), ['ﾃｽﾄです'], 'half-width message');
      assert.deepEqual(await texts(store, 'しましょう'), ['東京でミーティングをしましょう']);
      assert.deepEqual(await texts(store, '会議'), ['会議は明日です']);
      assert.deepEqual(await texts(store, 'です'), ['会議は明日です', 'ﾃｽﾄです']);
      assert.deepEqual(await texts(store, 'ラーメン 東京'), []);
    });

    it('finds Korean words', async () => {
      const store = await storeWith(['내일 회의가 있어요', '안녕하세요']);
      assert.deepEqual(await texts(store, '회의'), ['내일 회의가 있어요']);
      assert.deepEqual(await texts(store, '안녕'), ['안녕하세요']);
    });

    it('finds English words whole, in any case and width, in any order', async () => {
      const store = await storeWith(['Hello World', 'pineapple juice', 'The CAT sat', 'catalog of cats', 'café au lait']);
      assert.deepEqual(await texts(store, 'hello'), ['Hello World']);
      assert.deepEqual(await texts(store, 'WORLD hello'), ['Hello World']);
      assert.deepEqual(await texts(store, 'ｈｅｌｌｏ'), ['Hello World'], 'full-width query');
      assert.deepEqual(await texts(store, 'cat'), ['The CAT sat']);
      assert.deepEqual(await texts(store, 'hell'), [], 'not a prefix of a word');
      assert.deepEqual(await texts(store, 'apple'), [], 'not inside a word');
      assert.deepEqual(await texts(store, 'CAFÉ'), ['café au lait']);
      assert.deepEqual(await texts(store, 'cafe'), [], 'accents count');
    });

    it('finds mixed Chinese and English text by either part', async () => {
      const store = await storeWith(['明天meeting在北京', 'Ｍｅｅｔｉｎｇ　ＲＯＯＭ　３', '周五 sync 一下']);
      assert.deepEqual(await texts(store, 'meeting'), ['Ｍｅｅｔｉｎｇ　ＲＯＯＭ　３', '明天meeting在北京']);
      assert.deepEqual(await texts(store, 'Meeting 北京'), ['明天meeting在北京']);
      assert.deepEqual(await texts(store, 'room 3'), ['Ｍｅｅｔｉｎｇ　ＲＯＯＭ　３']);
      assert.deepEqual(await texts(store, '明天 SYNC'), []);
      assert.deepEqual(await texts(store, '周五sync'), ['周五 sync 一下'], 'a query without spaces splits as the text does');
    });

    it('matches no run across a word boundary: punctuation or a space splits CJK text', async () => {
      const store = await storeWith(['北京。都市', '北京都市', '北京 大学', '北京大学']);
      assert.deepEqual(await texts(store, '京都'), ['北京都市']);
      assert.deepEqual(await texts(store, '北京大学'), ['北京大学']);
      assert.deepEqual(await texts(store, '京大'), ['北京大学']);
    });

    it('finds nothing for a query with nothing to search for', async () => {
      const store = await storeWith(['!!! ??? 。。。', 'hello']);
      for (const query of ['', '   ', '!!!', '。', '👋']) assert.deepEqual(await texts(store, query), [], JSON.stringify(query));
    });

    it('searches only the rooms it is given', async () => {
      const store = await storeWith([
        ['open', '公开的北京'],
        ['_psecret', '秘密的北京'],
        ['other', '别处的北京'],
      ]);
      assert.deepEqual(await texts(store, '北京', ['open']), ['公开的北京']);
      assert.deepEqual(await texts(store, '北京', ['open', 'other']), ['别处的北京', '公开的北京']);
      assert.deepEqual(await texts(store, '北京', ['_psecret']), ['秘密的北京']);
      assert.deepEqual(await texts(store, '北京', []), []);
      assert.deepEqual(await texts(store, '北京', ['nowhere']), []);
    });

    it('answers each hit as the stored message with its room', async () => {
      const store = await storeWith(['第一条', '搜索我 please']);
      const [hit, ...rest] = await store.search(['r'], 'PLEASE', { limit: 5 });
      assert.equal(rest.length, 0);
      assert.deepEqual(hit, { room: 'r', message: (await store.latest('r', 1)).messages[0] });
    });

    it('pages newest first by time, then room, then id, with the last hit as the cursor', async () => {
      const store = await makeStore({ now: () => clock });
      stores.push(store);
      // Some at the same moment, in two rooms: the order still total.
      const plan: Array<[string, number]> = [['a', 1], ['b', 1], ['a', 1], ['b', 2], ['a', 3], ['b', 3], ['a', 3], ['c', 3], ['a', 4]];
      const base = clock + 1_000;
      for (const [room, second] of plan) {
        clock = base + second * 1_000;
        await store.append({ room, userId: 'u', user: 'U', text: `report 报告 ${room}${second}` });
      }
      await store.append({ room: 'a', userId: 'u', user: 'U', text: 'unrelated' });
      const key = (hit: SearchHit) => `${hit.room}/${hit.message.id}@${hit.message.ts - base}`;
      const all = (await store.search(['a', 'b'], '报告', { limit: 50 })).map(key);
      assert.deepEqual(all, ['a/5@4000', 'b/3@3000', 'a/4@3000', 'a/3@3000', 'b/2@2000', 'b/1@1000', 'a/2@1000', 'a/1@1000']);
      const pages: string[][] = [];
      let before: SearchHit | undefined;
      do {
        const page: SearchHit[] = await store.search(['a', 'b'], 'REPORT', before === undefined ? { limit: 3 } : { limit: 3, before: { ts: before.message.ts, room: before.room, id: before.message.id } });
        pages.push(page.map(key));
        before = page.length === 3 ? page.at(-1) : undefined;
      } while (before !== undefined);
      assert.deepEqual(pages, [all.slice(0, 3), all.slice(3, 6), all.slice(6)]);
      assert.deepEqual((await store.search(['a', 'b'], '报告', { limit: 1 })).map(key), ['a/5@4000']);
      assert.deepEqual(await store.search(['a', 'b'], '报告', { limit: 0 }), []);
    });

    it('agrees with a scan of the tokens on random text and random queries', async () => {
      // A fixed seed: the same texts and queries on every store and every run.
      let seed = 21;
      const random = (n: number): number => {
        seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
        return seed % n;
      };
      const alphabet = [...'北京会议开大学东京都ーミテカタ회의안녕abcABCｘｙ１2 。、，!?\'"*:()&|<->-_😀é'];
      const pick = (length: number): string => Array.from({ length }, () => alphabet[random(alphabet.length)]!).join('');
      const texts = Array.from({ length: 60 }, () => pick(1 + random(12)));
      const store = await storeWith(texts);
      const queries = [...Array.from({ length: 80 }, () => pick(1 + random(4))), '"', "'", '*', 'AND', 'a OR b', 'NEAR(a b)', '-a', '\\'];
      for (const query of queries) {
        const parts = queryParts(query);
        const expected = texts.filter((text) => tokensMatch(messageTokens(text), parts)).reverse();
        assert.deepEqual((await store.search(['r'], query, { limit: 100 })).map((hit) => hit.message.text), expected, JSON.stringify(query));
      }
    });

    it('counts the first 256 occurrences of a token in a message, as PostgreSQL keeps them', async () => {
      const store = await storeWith([`${'哈'.repeat(300)}笑`, `${'哈'.repeat(200)}笑`, `${'ok '.repeat(300)}fine`]);
      assert.deepEqual(await texts(store, '哈哈笑'), [`${'哈'.repeat(200)}笑`]);
      assert.deepEqual(await texts(store, '哈笑'), [`${'哈'.repeat(200)}笑`, `${'哈'.repeat(300)}笑`]);
      assert.deepEqual(await texts(store, '哈哈哈'), [`${'哈'.repeat(200)}笑`, `${'哈'.repeat(300)}笑`]);
      assert.deepEqual(await texts(store, 'ok fine'), [`${'ok '.repeat(300)}fine`]);
      assert.deepEqual(await texts(store, '·'), []);
    });

    it('indexes a message as it is stored, an idempotent repeat once', async () => {
      const store = await storeWith([]);
      await store.append({ room: 'r', userId: 'u', user: 'U', text: '第一次 once', clientId: 'c1' });
      await store.append({ room: 'r', userId: 'u', user: 'U', text: '第二次 twice', clientId: 'c1' });
      assert.deepEqual(await texts(store, 'once'), ['第一次 once']);
      assert.deepEqual(await texts(store, 'twice'), []);
      await Promise.all(Array.from({ length: 20 }, (_, n) => store.append({ room: 'r', userId: 'u', user: 'U', text: `批量 batch ${n}` })));
      assert.equal((await store.search(['r'], '批量', { limit: 50 })).length, 20);
    });

    it('follows edits and deletions: the new text is found, the old and the deleted are not', async () => {
      const store = await storeWith(['旧的说法 old wording', '要删掉的秘密 secret', '留下 kept']);
      assert.equal((await store.edit({ room: 'r', userId: 'u_ana', user: 'Ana', target: '1', text: '新的说法 new wording', editableSince: 0 })).ok, true);
      assert.equal((await store.remove({ room: 'r', userId: 'u_ana', user: 'Ana', target: '2', as: 'author' })).ok, true);
      assert.deepEqual(await texts(store, '旧的'), []);
      assert.deepEqual(await texts(store, 'old'), []);
      assert.deepEqual(await texts(store, '新的'), ['新的说法 new wording']);
      assert.deepEqual(await texts(store, '秘密'), []);
      assert.deepEqual(await texts(store, 'secret'), []);
      const [hit] = await store.search(['r'], 'wording', { limit: 5 });
      assert.equal(hit?.message.editedAt !== undefined, true);
    });

    it('finds messages, never the events of the log: a reaction, an edit, a reply are one hit each', async () => {
      const store = await storeWith(['北京 first']);
      await store.react({ room: 'r', userId: 'u_bo', user: 'Bo', target: '1', emoji: '👍' });
      await store.edit({ room: 'r', userId: 'u_ana', user: 'Ana', target: '1', text: '北京 edited', editableSince: 0 });
      await store.append({ room: 'r', userId: 'u_bo', user: 'Bo', text: '回复 reply', replyTo: '1' });
      const hits = await store.search(['r'], '北京', { limit: 50 });
      assert.deepEqual(hits.map((hit) => [hit.message.id, hit.message.text, hit.message.reactions?.[0]?.count]), [['1', '北京 edited', 1]]);
      const [reply] = await store.search(['r'], 'reply', { limit: 5 });
      assert.equal(reply?.message.replyTo?.id, '1');
    });
  });
}

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fts5Query, MAX_QUERY_PARTS, MAX_TOKEN_CHARS, messageTokens, queryParts, tokensMatch, tsqueryLiteral, tsvectorLiteral } from './search-text';

const matches = (text: string, query: string): boolean => tokensMatch(messageTokens(text), queryParts(query));

describe('search tokens', () => {
  it('splits Chinese into overlapping bigrams and the last character alone; punctuation separates', () => {
    assert.deepEqual(messageTokens('明天在北京开会。好'), ['明天', '天在', '在北', '北京', '京开', '开会', '会', '好']);
    assert.deepEqual(messageTokens('北京，上海、广州'), ['北京', '京', '上海', '海', '广州', '州']);
  });

  it('splits Japanese kana and kanji alike, the long vowel mark and 々 included', () => {
    assert.deepEqual(messageTokens('ラーメン食べた'), ['ラー', 'ーメ', 'メン', 'ン食', '食べ', 'べた', 'た']);
    assert.deepEqual(messageTokens('佐々木・さん'), ['佐々', '々木', '木', 'さん', 'ん']);
  });

  it('splits Korean within each spaced word', () => {
    assert.deepEqual(messageTokens('내일 회의'), ['내일', '일', '회의', '의']);
  });

  it('keeps other scripts as NFKC, lower-cased words; full-width and half-width forms fold', () => {
    assert.deepEqual(messageTokens('Hello, ＷＯＲＬＤ！ Straße café ①'), ['hello', 'world', 'straße', 'café', '1']);
    assert.deepEqual(messageTokens('ｶﾞｷﾞ'), ['ガギ', 'ギ']);
    assert.deepEqual(messageTokens('Привет МИР'), ['привет', 'мир']);
  });

  it('splits mixed Chinese and English where the script changes', () => {
    assert.deepEqual(messageTokens('明天meeting在北京3点'), ['明天', '天', 'meeting', '在北', '北京', '京', '3', '点']);
  });

  it('drops what is not a letter, digit or mark: spaces, symbols, emoji', () => {
    assert.deepEqual(messageTokens('👋 🎉 !!! — ...'), []);
    assert.deepEqual(messageTokens('a_b-c'), ['a', 'b', 'c']);
  });

  it('counts 256 occurrences of a token; later ones hold their place and match nothing', () => {
    const tokens = messageTokens(`${'ab '.repeat(258)}cd`);
    assert.deepEqual(tokens.slice(254), ['ab', 'ab', '·', '·', 'cd']);
  });

  it('cuts a very long word, in messages and queries alike', () => {
    const long = 'x'.repeat(200);
    assert.deepEqual(messageTokens(long), ['x'.repeat(MAX_TOKEN_CHARS)]);
    assert.ok(matches(long, long));
  });
});

describe('search queries', () => {
  it('makes a CJK run a phrase of its bigrams, a single character a prefix, each word a part', () => {
    assert.deepEqual(queryParts('北京大学 Meeting 京'), [
      { kind: 'phrase', tokens: ['北京', '京大', '大学'] },
      { kind: 'phrase', tokens: ['meeting'] },
      { kind: 'prefix', token: '京' },
    ]);
    assert.deepEqual(queryParts('  !!! '), []);
  });

  it('drops repeated parts and keeps at most the limit', () => {
    assert.deepEqual(queryParts('hi HI ｈｉ'), [{ kind: 'phrase', tokens: ['hi'] }]);
    const many = Array.from({ length: 40 }, (_, n) => `w${n}`).join(' ');
    assert.equal(queryParts(many).length, MAX_QUERY_PARTS);
  });

  it('matches words whole and CJK runs in a row, never across a boundary', () => {
    assert.ok(matches('明天在北京开会', '北京'));
    assert.ok(matches('明天在北京开会', '开会 明天'));
    assert.ok(!matches('北京 大学', '北京大学'));
    assert.ok(!matches('北京。都市', '京都'));
    assert.ok(matches('北京都市', '京都'));
    assert.ok(matches('去北京', '京'), 'the last character of a run');
    assert.ok(!matches('pineapple', 'apple'));
    assert.ok(!matches('hello', 'hell'));
    assert.ok(matches('Ｈｅｌｌｏ', 'HELLO'));
    assert.ok(!matches('anything', ''));
  });

  it('writes FTS5 and tsquery syntax with every token quoted', () => {
    const parts = queryParts('北京大学 it\'s 京');
    assert.equal(fts5Query(parts), '"北京" + "京大" + "大学" AND "it" AND "s" AND "京" *');
    assert.equal(tsqueryLiteral(parts), "('北京' <-> '京大' <-> '大学') & ('it') & ('s') & '京':*");
    assert.equal(fts5Query([{ kind: 'phrase', tokens: ['a"b'] }]), '"a""b"');
    assert.equal(tsqueryLiteral([{ kind: 'phrase', tokens: ["a'b\\"] }]), "('a''b\\\\')");
  });

  it('writes a tsvector with each token at its positions', () => {
    assert.equal(tsvectorLiteral('哈哈哈 ok 哈'), "'哈哈':1,2 '哈':3,5 'ok':4");
    assert.equal(tsvectorLiteral(''), '');
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  foldText,
  fts5Query,
  MAX_QUERY_PARTS,
  MAX_TOKEN_CHARS,
  MAX_TOKEN_OCCURRENCES,
  messageTokens,
  partsOfRuns,
  type QueryPart,
  queryParts,
  tokensMatch,
  tsqueryLiteral,
  tsvectorLiteral,
} from './search-text';

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
    // Counted in characters, not UTF-16 units: the Gothic letter 𐌰 is two.
    const wide = '𐌰'.repeat(100);
    assert.deepEqual(messageTokens(wide), ['𐌰'.repeat(MAX_TOKEN_CHARS)]);
  });

  it('tokenizes as the Unicode property expressions say, character by character (2,000 random texts)', () => {
    let seed = 42;
    const random = (below: number): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed % below;
    };
    // Letters of several scripts, CJK with its punctuation, full-width forms, combining marks,
    // characters outside the BMP (emoji, CJK extension B, mathematical letters), a lone surrogate.
    const pool = [...'aZ9_ -.,!Ωжé北京开会々ー・。、「」ラメン한국어ＡＢ１①ｶﾞ\u0301\u3099👋🎉𠀀𠀁𝐀𝔘𐌰', '\ud800', 'Straße', 'İ'];
    for (let n = 0; n < 2_000; n++) {
      const text = Array.from({ length: random(40) }, () => pool[random(pool.length)]!).join('');
      assert.deepEqual(messageTokens(text), referenceTokens(text), JSON.stringify(text));
      assert.deepEqual(queryParts(text), referenceQueryParts(text), JSON.stringify(text));
    }
  });
});

/** The tokenizer as it was written first, one regular expression over the text: the reference for the hand-written scanner. */
const REFERENCE_CJK = String.raw`[\p{scx=Han}\p{scx=Hiragana}\p{scx=Katakana}\p{scx=Hangul}]`;
const REFERENCE_WORD_CHAR = String.raw`[\p{L}\p{N}\p{M}]`;
const REFERENCE_RUN = new RegExp(String.raw`((?:(?=${REFERENCE_WORD_CHAR})${REFERENCE_CJK})+)|((?:(?!${REFERENCE_CJK})${REFERENCE_WORD_CHAR})+)`, 'gu');

function* referenceRuns(text: string): Generator<{ cjk: boolean; chars: string[] }> {
  for (const match of foldText(text).matchAll(REFERENCE_RUN)) {
    if (match[1] !== undefined) yield { cjk: true, chars: [...match[1]] };
    else if (match[2] !== undefined) yield { cjk: false, chars: [...match[2]].slice(0, MAX_TOKEN_CHARS) };
  }
}

function referenceTokens(text: string): string[] {
  const tokens: string[] = [];
  const counts = new Map<string, number>();
  const add = (token: string): void => {
    const count = (counts.get(token) ?? 0) + 1;
    counts.set(token, count);
    tokens.push(count > MAX_TOKEN_OCCURRENCES ? '·' : token);
  };
  for (const run of referenceRuns(text)) {
    if (!run.cjk) {
      add(run.chars.join(''));
      continue;
    }
    for (let i = 0; i + 1 < run.chars.length; i++) add(run.chars[i]! + run.chars[i + 1]!);
    add(run.chars.at(-1)!);
  }
  return tokens;
}

/** The query's parts from the reference's runs: what is compared is how the text is split. */
function referenceQueryParts(query: string): QueryPart[] {
  return partsOfRuns(referenceRuns(query));
}

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

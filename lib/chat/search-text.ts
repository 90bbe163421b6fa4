/**
 * The one tokenization search uses, in JavaScript, whatever the store: SQLite, PostgreSQL and the
 * memory store are given the same tokens, so they find the same messages.
 *
 * - Text is NFKC-normalised and lower-cased first: full-width `ＡＢＣ１` is `abc1`, half-width
 *   `ｶﾀｶﾅ` is `カタカナ`, `Hello` is `hello`.
 * - A run of Han, Hiragana, Katakana or Hangul (scripts written without spaces between words)
 *   becomes its overlapping bigrams, then its last character alone: `去北京` is `去北 北京 京`.
 *   No dictionary is needed to find a two-character word like 北京 or 会议 inside a sentence, and
 *   a query of several characters is the phrase of its bigrams, so `北京大学` matches only those
 *   four characters in a row, never `北京` and `大学` apart.
 * - A single-character query (`京`) matches every token that starts with that character: each
 *   character of a run starts a token (a bigram, or the run's last character alone), so nothing is
 *   missed, at the cost of one extra token per run rather than one per character.
 * - Any other run of letters, digits and marks is one word, matched whole (`meet` does not find
 *   `meeting`); punctuation, spaces, symbols and emoji separate tokens and are never matched.
 *
 * A query is the AND of its parts: each word, each CJK run (as a phrase), in any order.
 */

/** Characters of a word kept: a longer one is cut here, in messages and queries alike. */
export const MAX_TOKEN_CHARS = 64;
/**
 * Occurrences of one token in a message that count: PostgreSQL keeps 256 positions per lexeme,
 * so every store counts that many (`哈` said 300 times and then `笑` does not match `哈哈笑`).
 */
export const MAX_TOKEN_OCCURRENCES = 256;
/** What stands at the place of an occurrence past the limit: no query makes it (`·` is punctuation), and positions after it stay where they were. */
const SPENT = '·';
/** Parts of a query used at most (the rest are ignored). */
export const MAX_QUERY_PARTS = 16;

/** The scripts written without spaces between words (and the marks they share with no other). */
const CJK = String.raw`[\p{scx=Han}\p{scx=Hiragana}\p{scx=Katakana}\p{scx=Hangul}]`;
/** Letters, digits and marks: punctuation such as 。 and 、 shares the CJK scripts but separates. */
const WORD_CHAR = String.raw`[\p{L}\p{N}\p{M}]`;
/** One part of a query; a message matches a query when it matches every part. */
export type QueryPart =
  /** A whole token, or the consecutive tokens of a CJK run (a phrase of its bigrams). */
  | { readonly kind: 'phrase'; readonly tokens: readonly string[] }
  /** Any token starting with this (a single CJK character). */
  | { readonly kind: 'prefix'; readonly token: string };

/** Text as search compares it: NFKC, lower case. */
export function foldText(text: string): string {
  return text.normalize('NFKC').toLowerCase().normalize('NFKC');
}

/** Whether one character (a code point, as a string) is a letter, digit or mark, and whether it is CJK. */
const IS_WORD_CHAR = new RegExp(`^${WORD_CHAR}$`, 'u');
const IS_CJK = new RegExp(`^${CJK}$`, 'u');

/** What a character is to the tokenizer: runs of `Word` or of `Cjk` characters are tokens' sources, separators are dropped. */
const enum CharClass {
  Separator = 1,
  Word = 2,
  Cjk = 3,
}

/**
 * Each character's class, for the Basic Multilingual Plane, filled in as characters are met (0:
 * not yet): two Unicode property tests per character were most of the cost of indexing a message.
 */
const BMP_CLASSES = new Uint8Array(0x1_0000);

/** The class of the character at `at` in `text`, whose code point is `codePoint`. */
function classOf(codePoint: number, text: string, at: number): CharClass {
  if (codePoint < 0x80) {
    // The ASCII letters and digits (A-Z too: folded text has none, but a class is a class).
    return (codePoint >= 0x61 && codePoint <= 0x7a) || (codePoint >= 0x30 && codePoint <= 0x39) || (codePoint >= 0x41 && codePoint <= 0x5a) ? CharClass.Word : CharClass.Separator;
  }
  if (codePoint > 0xffff) return classify(text.slice(at, at + 2));
  const known = BMP_CLASSES[codePoint]!;
  if (known !== 0) return known as CharClass;
  const found = classify(text[at]!);
  BMP_CLASSES[codePoint] = found;
  return found;
}

function classify(char: string): CharClass {
  if (!IS_WORD_CHAR.test(char)) return CharClass.Separator;
  return IS_CJK.test(char) ? CharClass.Cjk : CharClass.Word;
}

/**
 * Calls `run` for each maximal run of word characters of one kind in `folded` (text as
 * `foldText` leaves it), with the run's bounds (UTF-16 indices): a CJK run, or a run of other
 * letters, digits and marks. Everything else separates runs and is dropped.
 */
function forEachRun(folded: string, run: (cjk: boolean, start: number, end: number) => void): void {
  let current = CharClass.Separator;
  let start = 0;
  for (let at = 0; at < folded.length; ) {
    const codePoint = folded.codePointAt(at)!;
    const width = codePoint > 0xffff ? 2 : 1;
    const found = classOf(codePoint, folded, at);
    if (found !== current) {
      if (current !== CharClass.Separator) run(current === CharClass.Cjk, start, at);
      current = found;
      start = at;
    }
    at += width;
  }
  if (current !== CharClass.Separator) run(current === CharClass.Cjk, start, folded.length);
}

/** The characters (code points) of a run. */
function charsOf(folded: string, start: number, end: number): string[] {
  return [...folded.slice(start, end)];
}

/** The tokens of a message's text, in order (positions count for phrases). */
export function messageTokens(text: string): string[] {
  const folded = foldText(text);
  const tokens: string[] = [];
  forEachRun(folded, (cjk, start, end) => {
    if (!cjk) {
      tokens.push(end - start <= MAX_TOKEN_CHARS ? folded.slice(start, end) : charsOf(folded, start, end).slice(0, MAX_TOKEN_CHARS).join(''));
      return;
    }
    // Each character with the next (a bigram), then the last alone.
    let previous = start;
    for (let at = start; at < end; ) {
      const width = folded.codePointAt(at)! > 0xffff ? 2 : 1;
      if (at > start) {
        tokens.push(folded.slice(previous, at + width));
        previous = at;
      }
      at += width;
    }
    tokens.push(folded.slice(previous, end));
  });
  // Only a message of more tokens than that can have a token that often.
  if (tokens.length > MAX_TOKEN_OCCURRENCES) spendRepeats(tokens);
  return tokens;
}

/** Replaces each occurrence of a token past `MAX_TOKEN_OCCURRENCES` with `SPENT`. */
function spendRepeats(tokens: string[]): void {
  const counts = new Map<string, number>();
  for (let index = 0; index < tokens.length; index++) {
    const token = tokens[index]!;
    const count = (counts.get(token) ?? 0) + 1;
    counts.set(token, count);
    if (count > MAX_TOKEN_OCCURRENCES) tokens[index] = SPENT;
  }
}

/** A query's parts (empty: nothing to search for, e.g. only punctuation); repeats are dropped. */
export function queryParts(query: string): QueryPart[] {
  const folded = foldText(query);
  const runs: QueryRun[] = [];
  forEachRun(folded, (cjk, start, end) => void runs.push({ cjk, chars: charsOf(folded, start, end) }));
  return partsOfRuns(runs);
}

/** A run of a query: CJK or not, and its characters (code points). */
export interface QueryRun {
  readonly cjk: boolean;
  readonly chars: readonly string[];
}

/** The parts of a query whose runs these are, in order: `queryParts` once the text is split. */
export function partsOfRuns(runs: Iterable<QueryRun>): QueryPart[] {
  const parts: QueryPart[] = [];
  const seen = new Set<string>();
  for (const run of runs) {
    let part: QueryPart;
    if (!run.cjk) part = { kind: 'phrase', tokens: [run.chars.slice(0, MAX_TOKEN_CHARS).join('')] };
    else if (run.chars.length === 1) part = { kind: 'prefix', token: run.chars[0]! };
    else part = { kind: 'phrase', tokens: run.chars.slice(1).map((char, i) => run.chars[i]! + char) };
    const key = JSON.stringify(part);
    if (seen.has(key)) continue;
    seen.add(key);
    parts.push(part);
    if (parts.length === MAX_QUERY_PARTS) break;
  }
  return parts;
}

/** Whether a message's tokens match every part: what SQLite's and PostgreSQL's indexes answer, as a scan. */
export function tokensMatch(tokens: readonly string[], parts: readonly QueryPart[]): boolean {
  return parts.length > 0 && parts.every((part) => (part.kind === 'prefix' ? tokens.some((token) => token.startsWith(part.token)) : hasPhrase(tokens, part.tokens)));
}

function hasPhrase(tokens: readonly string[], phrase: readonly string[]): boolean {
  for (let start = 0; start + phrase.length <= tokens.length; start++) {
    if (phrase.every((token, i) => tokens[start + i] === token)) return true;
  }
  return false;
}

/** The text SQLite's FTS5 index keeps for a message: its tokens, one space between (its `ascii` tokenizer splits there, changing nothing else). */
export function fts5Document(text: string): string {
  return messageTokens(text).join(' ');
}

/** A query in FTS5's syntax: every token quoted, phrases joined by `+`, prefixes with `*`, parts by `AND`. */
export function fts5Query(parts: readonly QueryPart[]): string {
  const quote = (token: string) => `"${token.replaceAll('"', '""')}"`;
  return parts.map((part) => (part.kind === 'prefix' ? `${quote(part.token)} *` : part.tokens.map(quote).join(' + '))).join(' AND ');
}

/** PostgreSQL keeps at most this many positions per lexeme, silently dropping the rest (only `SPENT` ever has more). */
const PG_MAX_POSITIONS = MAX_TOKEN_OCCURRENCES;
/** Positions above this are all counted as this one by PostgreSQL. */
const PG_MAX_POSITION = 16_383;

/**
 * A message's `tsvector` as a literal (cast with `::tsvector`): no PostgreSQL parser or dictionary
 * sees the text, so its tokens are exactly ours, each with its positions for phrase queries.
 */
export function tsvectorLiteral(text: string): string {
  const positions = new Map<string, number[]>();
  messageTokens(text).forEach((token, index) => {
    let list = positions.get(token);
    if (list === undefined) positions.set(token, (list = []));
    if (list.length < PG_MAX_POSITIONS) list.push(Math.min(index + 1, PG_MAX_POSITION));
  });
  return [...positions].map(([token, list]) => `${pgQuote(token)}:${list.join(',')}`).join(' ');
}

/** A query as a `tsquery` literal: phrases with `<->`, prefixes with `:*`, parts joined by `&`. */
export function tsqueryLiteral(parts: readonly QueryPart[]): string {
  return parts.map((part) => (part.kind === 'prefix' ? `${pgQuote(part.token)}:*` : `(${part.tokens.map(pgQuote).join(' <-> ')})`)).join(' & ');
}

function pgQuote(token: string): string {
  return `'${token.replaceAll('\\', '\\\\').replaceAll("'", "''")}'`;
}

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { checkSessionUser, isReservedName, MAX_DISPLAY_NAME_CHARS, newGuest, normaliseDisplayName, RESERVED_NAMES, SYSTEM_USER } from './identity';
import { skeleton } from './skeleton';

const accepted = (input: string): string => {
  const result = normaliseDisplayName(input);
  assert.ok(result.ok, `${JSON.stringify(input)} was refused: ${result.ok ? '' : result.error}`);
  return result.name;
};
const refused = (input: unknown): string => {
  const result = normaliseDisplayName(input);
  assert.ok(!result.ok, `${JSON.stringify(input)} was accepted as ${JSON.stringify(result.ok && result.name)}`);
  return result.error;
};

it('makes guests with distinct ids and readable names', () => {
  const guests = Array.from({ length: 50 }, newGuest);
  assert.equal(new Set(guests.map((guest) => guest.id)).size, 50);
  for (const guest of guests) {
    assert.match(guest.name, /^[A-Z][a-z]+ [A-Z][a-z]+ \d\d$/);
    assert.equal(accepted(guest.name), guest.name);
  }
});

describe('normaliseDisplayName', () => {
  it('trims and collapses a display name, keeping Chinese and emoji', () => {
    assert.equal(accepted('  王   小明 '), '王 小明');
    assert.equal(accepted('👩‍💻 Ana'), '👩‍💻 Ana');
    assert.equal(accepted('Ana\nLi\tMo'), 'Ana Li Mo');
  });

  it('shows names of every script as typed: Chinese, Japanese, Korean, Arabic, Hebrew, accents, emoji', () => {
    for (const name of ['小明', '王小二', '田中太郎', 'さくら', '김민수', '이서연', 'محمد علي', 'שרה', 'José Ñúñez', 'Zoë', 'Δημήτρης', 'Владимир', '👩🏽‍💻', '🏳️‍🌈 Sam', '❤️', '1️⃣ Jo', '🏴󠁧󠁢󠁳󠁣󠁴󠁿']) {
      assert.equal(accepted(name), name);
    }
  });

  it('applies NFKC: full-width and styled letters become plain ones', () => {
    assert.equal(accepted('Ｓａｍ'), 'Sam');
    assert.equal(accepted('𝐁𝐨𝐛'), 'Bob');
    assert.equal(accepted('ﾐｶ'), 'ミカ');
    assert.equal(accepted('Jose\u0301'), 'José');
  });

  it('strips control, bidirectional and zero-width characters', () => {
    assert.equal(accepted('Ana\u202Egnp.exe\u0007'), 'Anagnp.exe');
    assert.equal(accepted('\u2067Bo\u2069\u200E'), 'Bo');
    assert.equal(accepted('Ma\u200Bx\u00AD\uFEFF\u2060'), 'Max');
    assert.equal(accepted('Li\u200Dly'), 'Lily', 'a ZWJ between letters joins nothing');
    assert.equal(accepted('Li\uFE0Fly'), 'Lily', 'a variation selector after a letter selects nothing');
  });

  it('refuses names that show blank: Hangul fillers, the Braille blank, joiners alone', () => {
    for (const blank of ['\u3164', '\u115F', '\u1160', '\uFFA0', '\u2800', '\u200D', '\u200B\u200C', '\u3164 \u2800', '\u0301', '\uFE0F', '\u{E0041}']) {
      assert.match(refused(blank), /empty|no visible/);
    }
    assert.equal(accepted('\u3164Ana\u2800'), 'Ana');
  });

  it('refuses System and other reserved names, in any disguise', () => {
    for (const name of ['system', 'System', 'Sys\u200Dtem', 'Sуstem', 'System.', 'S y s t e m', 'ЅYSTEM', 'Ｓｙｓｔｅｍ', '𝐒𝐲𝐬𝐭𝐞𝐦', 'Systém', '系统']) {
      assert.equal(refused(name), 'that name is reserved', name);
    }
    for (const name of ['admin', 'ADMlN', 'Admin!', 'r00t', 'Moderator', 'mоd', '@everyone', '@here', 'Staff', 'Support', 'Owner', 'channel', '管理员']) {
      assert.equal(refused(name), 'that name is reserved', name);
    }
    for (const name of ['Sam', 'Systems Ana', 'Adam', 'Modesto', 'Rooted', 'Alice']) accepted(name);
  });

  it('refuses empty, too long and non-string names', () => {
    refused('   ');
    refused('\u200B');
    refused('名'.repeat(MAX_DISPLAY_NAME_CHARS + 1));
    assert.equal(accepted('名'.repeat(MAX_DISPLAY_NAME_CHARS)), '名'.repeat(MAX_DISPLAY_NAME_CHARS));
    refused('a'.repeat(100_000));
    refused(42);
    refused(null);
  });

  /** TR39's comparison, case and everything but letters and digits ignored. */
  const skeletonKey = (name: string): string => skeleton(name.toUpperCase().toLowerCase()).replace(/[^\p{L}\p{N}]/gu, '');
  const reservedKeys = new Set(RESERVED_NAMES.map(skeletonKey));
  const ALLOWED_IN_EMOJI = /[\u200D\uFE0E\uFE0F\u{E0020}-\u{E007F}]/u;
  /** The invisible and format characters of a name, less those an emoji sequence needs where it needs them. */
  function invisibleIn(name: string): string[] {
    const points = [...name];
    return points.filter((point, index) => {
      const previous = points[index - 1] ?? '';
      const next = points[index + 1] ?? '';
      if (point === '\u200D') return !(/[\p{Extended_Pictographic}\p{Emoji_Modifier}\uFE0F]/u.test(previous) && /\p{Extended_Pictographic}/u.test(next));
      if (point === '\uFE0E' || point === '\uFE0F') return !(/\p{Extended_Pictographic}/u.test(previous) || next === '\u20E3');
      if (ALLOWED_IN_EMOJI.test(point)) return !name.includes('\u{1F3F4}');
      return /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}\p{Default_Ignorable_Code_Point}\u2800]/u.test(point);
    });
  }

  const tricky = fc.constantFrom(
    ...['\u200D', '\u200B', '\u200C', '\u200E', '\u202E', '\u2066', '\u2069', '\u00AD', '\uFEFF', '\u3164', '\u115F', '\u1160', '\uFFA0', '\u2800'],
    ...['\uFE0F', '\uFE0E', '\u20E3', '\u0301', '\u0308', '\u00A8', '\u{E0067}', '\u{E007F}', '\u{1F3F4}', '\u{1F469}', '\u{1F3FD}', '\u{1F4BB}', '\u2764'],
    ...[' ', '\u3000', '\n', '\t', '.', '1', '#', 'S', 's', 'y', 'у', 'Ѕ', 'm', 'e', 'I', 'l', '小', '명', 'ﾐ', 'Ｓ', 'ǅ', 'ﷺ', '\uD800'],
  );
  const names = fc.oneof(
    fc.string({ unit: fc.oneof(tricky, fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })), maxLength: 40 }),
    fc.string({ unit: 'grapheme', maxLength: 40 }),
  );

  it('never returns an invisible, format or bidirectional character, nor a reserved name, and is idempotent (property)', () => {
    fc.assert(
      fc.property(names, (input) => {
        const result = normaliseDisplayName(input);
        if (!result.ok) return;
        assert.deepEqual(invisibleIn(result.name), [], JSON.stringify(result.name));
        assert.ok(!reservedKeys.has(skeletonKey(result.name)), `${JSON.stringify(result.name)} has the skeleton of a reserved name`);
        assert.ok([...result.name].length <= MAX_DISPLAY_NAME_CHARS);
        assert.deepEqual(normaliseDisplayName(result.name), result, 'normalising again changes nothing');
      }),
      { seed: 20_260_516, numRuns: 3_000 },
    );
  });

  const HOMOGLYPHS: Readonly<Record<string, readonly string[]>> = {
    a: ['а', 'ɑ'], e: ['е'], o: ['о', 'ο', '0'], p: ['р'], c: ['с'], y: ['у'], x: ['х'], s: ['ѕ'], i: ['і', '1'], l: ['1', 'I'],
    S: ['Ѕ'], A: ['А', 'Α'], E: ['Е', 'Ε'], I: ['І', 'Ι', 'l'], M: ['М', 'Μ'], N: ['Ν'], O: ['О', 'Ο', '0'], T: ['Т', 'Τ'], Y: ['Υ', 'Ү'], C: ['С'], H: ['Н'],
  };
  const disguise = fc
    .tuple(
      fc.constantFrom(...RESERVED_NAMES.filter((name) => /^[a-z]+$/i.test(name))),
      fc.array(fc.tuple(fc.nat(3), fc.nat(9), fc.constantFrom('', '', '', '.', ' ', '-', '\u200D', '\u200B', '\u00AD', '\u2800', '\u3164', '\u202E')), { minLength: 16, maxLength: 16 }),
    )
    .map(([name, choices]) =>
      [...name]
        .map((letter, index) => {
          const [casing, swap, after] = choices[index]!;
          const cased = casing === 0 ? letter.toUpperCase() : casing === 1 ? letter.toLowerCase() : letter;
          const glyphs = HOMOGLYPHS[cased];
          return `${glyphs && swap < glyphs.length ? glyphs[swap]! : cased}${after}`;
        })
        .join(''),
    );

  it('refuses every disguise of a reserved name: homoglyphs, case, spacing, punctuation, invisibles (property)', () => {
    fc.assert(
      fc.property(disguise, (name) => {
        assert.equal(normaliseDisplayName(name).ok, false, JSON.stringify(name));
      }),
      { seed: 20_260_517, numRuns: 2_000 },
    );
  });
});

describe('checkSessionUser', () => {
  it('keeps a good name, renormalises an old one, and replaces a bad one with a guest name fixed per user', () => {
    const ana = { id: 'u_1', name: 'Ana' };
    assert.equal(checkSessionUser(ana), ana);
    assert.deepEqual(checkSessionUser({ id: 'u_1', name: 'Ana\u200B\u202E' }), { id: 'u_1', name: 'Ana' });
    const spoof = checkSessionUser({ id: 'u_2', name: 'Sys\u200Dtem' });
    assert.equal(spoof.id, 'u_2');
    assert.match(spoof.name, /^[A-Z][a-z]+ [A-Z][a-z]+ \d\d$/);
    assert.deepEqual(checkSessionUser({ id: 'u_2', name: '\u3164' }), spoof, 'the same generated name for the same user');
    assert.equal(isReservedName(SYSTEM_USER.name), true);
  });
});

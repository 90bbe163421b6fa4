import { createHash, randomFillSync, randomInt } from 'node:crypto';
import type { SessionUser } from 'next-channels';
import { codePointLength } from './protocol';
import { LookAlikes } from './skeleton';

export const MAX_DISPLAY_NAME_CHARS = 32;

/** The author of announcements posted through the admin route: the only one named System. */
export const SYSTEM_USER: SessionUser = { id: 'system', name: 'System' };

/**
 * Names nobody may take, because readers would take them for the server, the staff or a call to
 * everyone in the room. They are compared by confusable skeleton, so look-alikes are refused too.
 */
export const RESERVED_NAMES: readonly string[] = [
  SYSTEM_USER.name,
  'admin',
  'administrator',
  'moderator',
  'mod',
  'staff',
  'support',
  'root',
  'owner',
  'official',
  'server',
  'everyone',
  'here',
  'channel',
  'room',
  'all',
  '系统',
  '管理员',
];

const ADJECTIVES = ['Brave', 'Calm', 'Clever', 'Eager', 'Gentle', 'Happy', 'Jolly', 'Kind', 'Lucky', 'Merry', 'Quick', 'Quiet', 'Sunny', 'Swift', 'Witty', 'Bold'];
const ANIMALS = ['Panda', 'Otter', 'Crane', 'Fox', 'Koala', 'Lynx', 'Heron', 'Tiger', 'Finch', 'Badger', 'Dolphin', 'Falcon', 'Rabbit', 'Swan', 'Yak', 'Owl'];

/** A new guest: a random id that never changes, and a readable generated name. */
export function newGuest(): SessionUser {
  const name = `${pick(ADJECTIVES)} ${pick(ANIMALS)} ${randomInt(10, 100)}`;
  return { id: `u_${randomToken()}`, name };
}

/** Random bytes for ids, drawn from a pool refilled 100 ids at a time: each draw from the system costs a call. */
const ID_BYTES = 12;
const pool = Buffer.alloc(ID_BYTES * 100);
let poolOffset = pool.length;

function randomToken(): string {
  if (poolOffset === pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const token = pool.toString('base64url', poolOffset, poolOffset + ID_BYTES);
  poolOffset += ID_BYTES;
  return token;
}

/**
 * The user of a session cookie as this version allows it: a cookie signed by an older version
 * may hold a name that is no longer allowed (an invisible one, a look-alike of System). Such a
 * name is normalised again, or replaced by a generated guest name that stays the same for the
 * user id, so every read of that cookie shows the same name until a page load renews it.
 */
export function checkSessionUser(user: SessionUser): SessionUser {
  let name = checkedNames.get(user.name);
  if (name === undefined) {
    name = normaliseDisplayName(user.name);
    // Bounded: the names of a site's recent visitors, checked once each rather than on every read.
    if (checkedNames.size >= MAX_CHECKED_NAMES) checkedNames.clear();
    checkedNames.set(user.name, name);
  }
  if (name.ok) return name.name === user.name ? user : { id: user.id, name: name.name };
  const hash = createHash('sha256').update(user.id).digest();
  return { id: user.id, name: `${ADJECTIVES[hash[0]! % ADJECTIVES.length]} ${ANIMALS[hash[1]! % ANIMALS.length]} ${10 + (hash[2]! % 90)}` };
}

const MAX_CHECKED_NAMES = 1_000;
const checkedNames = new Map<string, NameCheck>();

export type NameCheck = { readonly ok: true; readonly name: string } | { readonly ok: false; readonly error: string };

/**
 * A display name as typed, made safe to show: NFKC, whitespace collapsed and trimmed, at most 32
 * characters, with no control, format or invisible character (bidirectional controls could
 * disguise it, zero-width and filler characters hide it). The zero-width joiner and the
 * variation selectors stay only where emoji need them (`👩‍💻`, `❤️`). Refused: a name with
 * nothing visible left, and one that looks like a reserved name (`Sуstem` with a Cyrillic у,
 * `S y s t e m`, `ADMlN`).
 */
export function normaliseDisplayName(input: unknown): NameCheck {
  if (typeof input !== 'string') return { ok: false, error: 'name must be a string' };
  // Bounded before any work: NFKC grows a character to 18 at most.
  if (input.length > MAX_DISPLAY_NAME_CHARS * 16) return tooLong();
  let name = input;
  // Stripping can bring characters together that NFKC then composes, and NFKC can make spaces
  // (`¨` is a space and a combining diaeresis): repeat until nothing changes.
  for (let pass = 0; pass < 4; pass++) {
    const next = collapseSpaces(visibleOnly(name.normalize('NFKC')));
    if (next === name) break;
    name = next;
  }
  if (name === '') return { ok: false, error: 'name is empty' };
  if (!/[\p{L}\p{N}\p{P}\p{S}]/u.test(name)) return { ok: false, error: 'name has no visible character' };
  if (codePointLength(name) > MAX_DISPLAY_NAME_CHARS) return tooLong();
  if (isReservedName(name)) return { ok: false, error: 'that name is reserved' };
  return { ok: true, name };
}

/** Whether a name looks like one of `RESERVED_NAMES`, whatever its case, spacing, punctuation or script. */
export function isReservedName(name: string): boolean {
  reserved ??= new LookAlikes(RESERVED_NAMES);
  return reserved.has(name);
}

let reserved: LookAlikes | null = null;

const ZWJ = '\u200D';
const KEYCAP = '\u20E3';
const BLACK_FLAG = '\u{1F3F4}';
const CANCEL_TAG = '\u{E007F}';
/** Characters that show nothing or steer how others show: controls, format, default-ignorable, blank letters. */
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}\p{Default_Ignorable_Code_Point}\u2800]/u;
const SPACE = /[\p{Zs}\t\n\v\f\r\u0085\u2028\u2029]/u;
const PICTOGRAPH = /\p{Extended_Pictographic}/u;
const EMOJI_MODIFIER = /\p{Emoji_Modifier}/u;
const TAG = /[\u{E0020}-\u{E007E}]/u;

/**
 * Drops invisible characters and turns every kind of space into a plain one. Kept where emoji
 * need them: a ZWJ between two emoji, VS15/VS16 after an emoji (or in a keycap), and the tags
 * of a subdivision flag (🏴 + tags + cancel tag).
 */
function visibleOnly(text: string): string {
  const points = [...text];
  let out = '';
  let previous = '';
  for (let index = 0; index < points.length; index++) {
    const point = points[index]!;
    const next = points[index + 1] ?? '';
    let kept: string | null;
    if (point === ZWJ) {
      kept = (PICTOGRAPH.test(previous) || EMOJI_MODIFIER.test(previous) || previous === '\uFE0F') && PICTOGRAPH.test(next) ? point : null;
    } else if (point === '\uFE0E' || point === '\uFE0F') {
      kept = PICTOGRAPH.test(previous) || (/^[#*0-9]$/.test(previous) && next === KEYCAP) ? point : null;
    } else if (point === BLACK_FLAG) {
      let end = index + 1;
      while (end < points.length && TAG.test(points[end]!)) end++;
      const tagged = end > index + 1 && points[end] === CANCEL_TAG;
      out += tagged ? points.slice(index, end + 1).join('') : point;
      previous = tagged ? CANCEL_TAG : point;
      if (tagged) index = end;
      continue;
    } else if (SPACE.test(point)) {
      kept = ' ';
    } else {
      kept = INVISIBLE.test(point) ? null : point;
    }
    if (kept !== null) {
      out += kept;
      previous = kept;
    }
  }
  return out;
}

function collapseSpaces(text: string): string {
  return text.replace(/ {2,}/g, ' ').trim();
}

function tooLong(): NameCheck {
  return { ok: false, error: `name is longer than ${MAX_DISPLAY_NAME_CHARS} characters` };
}

function pick<T>(items: readonly T[]): T {
  return items[randomInt(items.length)]!;
}

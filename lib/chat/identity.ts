import { randomFillSync, randomInt } from 'node:crypto';
import type { SessionUser } from '../channels';
import { codePointLength } from './protocol';

export const MAX_DISPLAY_NAME_CHARS = 32;

/** The author of announcements posted through the admin route. */
export const SYSTEM_USER: SessionUser = { id: 'system', name: 'System' };

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
 * A display name as typed, made safe to show: trimmed, inner whitespace collapsed, at most
 * 32 characters, no control or formatting characters (bidirectional overrides could disguise
 * a name) except the zero-width joiner that emoji sequences need. Returns an error message instead when
 * nothing usable is left.
 */
export function normaliseDisplayName(input: unknown): { ok: true; name: string } | { ok: false; error: string } {
  if (typeof input !== 'string') return { ok: false, error: 'name must be a string' };
  const name = input.normalize('NFC').replace(/[\p{Cc}\p{Zl}\p{Zp}]|(?!\u200d)\p{Cf}/gu, '').replace(/\s+/gu, ' ').trim();
  if (name === '') return { ok: false, error: 'name is empty' };
  if (codePointLength(name) > MAX_DISPLAY_NAME_CHARS) {
    return { ok: false, error: `name is longer than ${MAX_DISPLAY_NAME_CHARS} characters` };
  }
  if (name.toLowerCase() === SYSTEM_USER.name.toLowerCase()) return { ok: false, error: 'that name is reserved' };
  return { ok: true, name };
}

function pick<T>(items: readonly T[]): T {
  return items[randomInt(items.length)]!;
}

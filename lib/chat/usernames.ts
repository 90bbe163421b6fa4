import { isReservedName, normaliseDisplayName } from './identity';

/** Characters (code points) a user name may have. */
export const MIN_USERNAME_CHARS = 2;
export const MAX_USERNAME_CHARS = 32;
const USERNAME = /^[\p{L}\p{M}\p{N}_.-]+$/u;

export type UsernameCheck =
  | { readonly ok: true; readonly username: string; readonly key: string }
  | { readonly ok: false; readonly error: string };

/**
 * A user name as typed, made into what is kept (`username`, NFKC) and what is unique (`key`,
 * case-folded): letters of any script (Chinese names are welcome), marks, digits, `_`, `.` and
 * `-`, 3 to 32 of them; nothing invisible, no space, and nothing that looks like a reserved name
 * (the same rule as display names: a user name is also the account's display name).
 */
export function normaliseUsername(input: unknown): UsernameCheck {
  if (typeof input !== 'string') return { ok: false, error: 'user name must be a string' };
  if (input.length > MAX_USERNAME_CHARS * 8) return { ok: false, error: `user name is longer than ${MAX_USERNAME_CHARS} characters` };
  const username = input.normalize('NFKC').trim();
  const chars = [...username].length;
  if (chars < MIN_USERNAME_CHARS) return { ok: false, error: `user name must have at least ${MIN_USERNAME_CHARS} characters` };
  if (chars > MAX_USERNAME_CHARS) return { ok: false, error: `user name is longer than ${MAX_USERNAME_CHARS} characters` };
  if (!USERNAME.test(username)) return { ok: false, error: 'user names use letters, digits, "_", "." and "-"' };
  if (isReservedName(username)) return { ok: false, error: 'that name is reserved' };
  const asDisplayName = normaliseDisplayName(username);
  if (!asDisplayName.ok || asDisplayName.name !== username) return { ok: false, error: 'that user name cannot be shown as typed' };
  return { ok: true, username, key: usernameKey(username) };
}

/** What makes two user names the same: NFKC of the lower case (`Ana` and `ＡＮＡ` are one). */
export function usernameKey(username: string): string {
  return username.normalize('NFKC').toLowerCase().normalize('NFKC');
}

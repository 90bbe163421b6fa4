/**
 * The app's login session, one module for both sides: the pages sign in and out with these
 * options (`getIronSession(await cookies(), sessionOptions)`), and the socket routing reads the
 * same sealed cookie with them (`unsealData`). Importing it also types `scope.user`.
 */
import { PHASE_PRODUCTION_BUILD } from 'next/constants';
import type { SessionOptions } from 'iron-session';

/** Who is signed in: what the session holds, and what every `scope.user` is. */
export type User = { readonly id: string; readonly name: string };

declare module 'next-channels' {
  interface Register {
    user: User;
  }
}

/** What the sealed cookie holds: the user, once signed in. */
export type SessionData = { user?: User };

// Anyone who knows this one can sign a cookie: it is for development and tests only.
const DEV_PASSWORD = 'dev-only password of next-channels-minimal, never in production';

/** Stops the server at start with one line: a missing secret is the operator's to fix, not a bug to trace. */
function refuseToStart(reason: string): never {
  process.stderr.write(`${reason}: set SESSION_PASSWORD to a secret of 32 characters or more (openssl rand -base64 32)\n`);
  process.exit(1);
}

function password(): string {
  const set = process.env.SESSION_PASSWORD;
  if (set !== undefined && set.length < 32) refuseToStart('SESSION_PASSWORD is too short');
  if (set !== undefined) return set;
  // `next build` runs with NODE_ENV=production and loads the pages, but seals nothing.
  if (process.env.NODE_ENV === 'production' && process.env.NEXT_PHASE !== PHASE_PRODUCTION_BUILD) refuseToStart('SESSION_PASSWORD is not set');
  return DEV_PASSWORD;
}

/** The session's cookie, secret and lifetime, for `getIronSession`, `sealData` and `unsealData`. */
export const sessionOptions = {
  cookieName: 'minimal-session',
  password: password(),
  ttl: 60 * 60 * 24 * 7,
  cookieOptions: { httpOnly: true, sameSite: 'lax', secure: process.env.NODE_ENV === 'production', path: '/' },
} satisfies SessionOptions;

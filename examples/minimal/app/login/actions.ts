'use server';
import { randomUUID } from 'node:crypto';
import { getIronSession } from 'iron-session';
import { cookies } from 'next/headers';
import { redirect } from 'next/navigation';
import { type SessionData, sessionOptions } from '@/session';

const NAME = /^[\p{L}\p{N} _-]{1,32}$/u;

/**
 * Signs in under the name the form gives (a demo: no password), in a sealed, HttpOnly cookie,
 * then goes to the poll, whose socket now has a user.
 */
export async function signIn(form: FormData): Promise<void> {
  const name = String(form.get('name') ?? '').trim();
  if (!NAME.test(name)) redirect('/login?error=name');
  const session = await getIronSession<SessionData>(await cookies(), sessionOptions);
  // A real app takes the id from its user table; here every sign-in is a new user.
  session.user = { id: randomUUID(), name };
  await session.save();
  redirect('/poll');
}

/** Signs out: the cookie is gone, so the next socket is anonymous. */
export async function signOut(): Promise<void> {
  const session = await getIronSession<SessionData>(await cookies(), sessionOptions);
  session.destroy();
  // Away from the poll: its page's socket closes as the page goes.
  redirect('/');
}

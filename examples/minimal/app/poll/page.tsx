import { getIronSession } from 'iron-session';
import { cookies } from 'next/headers';
import { type SessionData, sessionOptions } from '@/session';
import { signOut } from '../login/actions';
import { Poll } from './poll';

/** The poll's page: who is signed in (read from the session, as the socket's resolver reads it), and the live poll. */
export default async function PollPage() {
  const { user } = await getIronSession<SessionData>(await cookies(), sessionOptions);
  return (
    <>
      {user && (
        <header>
          <form id="signed-in" action={signOut}>
            Signed in as <strong>{user.name}</strong> <button type="submit">Sign out</button>
          </form>
        </header>
      )}
      <Poll />
    </>
  );
}

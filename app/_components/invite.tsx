'use client';

import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useEffect, useState } from 'react';
import { ApiError, chatApi } from '@/lib/client';
import { useI18n } from '../_i18n/i18n';
import { readySession, useSession } from './use-session';


/** `/invite/<token>/`: joins the private room an invite link is for (signed-in people only). */
export function InviteJoin({ token }: { readonly token: string }) {
  const TEXT = useI18n().t.invite;
  const router = useRouter();
  const state = useSession();
  const session = readySession(state);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  // The room the link is for, asked before joining; a link that does not work says so at once.
  const [title, setTitle] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    chatApi.invitation(token).then(
      (invitation) => {
        if (live) setTitle(invitation.title);
      },
      (error: unknown) => {
        if (live && error instanceof ApiError && error.code === 'not_found') setProblem('not_found');
      },
    );
    return () => {
      live = false;
    };
  }, [token]);

  async function join(): Promise<void> {
    setBusy(true);
    setProblem(null);
    try {
      const { room } = await chatApi.acceptInvite(token);
      router.push(`/chat/${room}/`);
    } catch (error) {
      if (error instanceof ApiError && error.code === 'sign_in_required') setProblem('guest');
      else if (error instanceof ApiError && error.code === 'not_found') setProblem('not_found');
      else setProblem(TEXT.failed(error instanceof ApiError ? error.detail || error.code : String(error)));
      setBusy(false);
    }
  }

  const guest = problem === 'guest' || (session !== null && session.account === null);
  const next = `/invite/${encodeURIComponent(token)}/`;
  return (
    <main className="page">
      <h1 id="invite-heading">
        {title === null ? (
          TEXT.heading
        ) : (
          <>
            {TEXT.joinBefore}
            <bdi>{title}</bdi>
            {TEXT.joinAfter}
          </>
        )}
      </h1>
      {state.status === 'loading' ? (
        <p className="hint">{TEXT.loading}</p>
      ) : problem === 'not_found' ? (
        <p id="invite-problem" role="alert" className="error">
          {TEXT.notFound}
        </p>
      ) : guest ? (
        <p id="invite-guest">
          {TEXT.guest} <Link href={`/account/?next=${encodeURIComponent(next)}`}>{TEXT.signIn}</Link>
        </p>
      ) : (
        <>
          <p>{TEXT.question}</p>
          <button id="invite-join" type="button" disabled={busy} onClick={() => void join()}>
            {busy ? TEXT.joining : TEXT.join}
          </button>
          {problem && (
            <p id="invite-problem" role="alert" className="error">
              {problem}
            </p>
          )}
        </>
      )}
      <p>
        <Link href="/rooms/">{TEXT.rooms}</Link>
      </p>
    </main>
  );
}

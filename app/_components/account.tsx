'use client';

import { type FormEvent, useState } from 'react';
import { ApiError, chatApi, sameSitePath } from '@/lib/client';
import { useI18n } from '../_i18n/i18n';
import type { Messages } from '../_i18n/messages';
import { blockComposingEnter } from './composing';
import { useSession } from './use-session';


/**
 * Loads a whole new page (not a client-side navigation): every socket of the app, the chat's and
 * the notifications', reconnects with the session cookie just set or cleared.
 */
export function fullPageLoad(path: string): void {
  window.location.assign(new URL(path, window.location.href).href);
}

function explain(TEXT: Messages['account'], error: unknown): string {
  if (!(error instanceof ApiError)) return TEXT.failed(String(error));
  // invalid_username and invalid_password: the server's detail says what is wrong.
  return TEXT.errors[error.code] ?? (error.detail ? error.detail : TEXT.failed(error.code));
}

/**
 * `/account/`: sign in or sign up (a guest keeps its user id and history), or, when signed in,
 * who you are and sign out. Each of those loads a whole new page, so every socket reconnects
 * with the new session cookie; `next` (a path on this site) is where to go after signing in.
 */
export function AccountPage({ next }: { readonly next: string | null }) {
  const TEXT = useI18n().t.account;
  const state = useSession();
  const [signingOut, setSigningOut] = useState(false);
  const [signOutError, setSignOutError] = useState<string | null>(null);

  const destination = (): string => sameSitePath(next, window.location.origin) ?? '/rooms/';

  async function signOut(): Promise<void> {
    setSigningOut(true);
    setSignOutError(null);
    try {
      await chatApi.signOut();
      fullPageLoad('/account/');
    } catch (error) {
      setSignOutError(explain(TEXT, error));
      setSigningOut(false);
    }
  }

  if (state.status === 'loading') {
    return (
      <main className="page">
        <h1>{TEXT.heading}</h1>
        <p className="hint">{TEXT.loading}</p>
      </main>
    );
  }
  if (state.status === 'error') {
    return (
      <main className="page">
        <h1>{TEXT.heading}</h1>
        <p role="alert" className="error">
          {TEXT.loadFailed(state.detail)}
        </p>
      </main>
    );
  }
  const { session } = state;
  if (session.account) {
    const safeNext = next === null ? null : sameSitePath(next, typeof window === 'undefined' ? 'http://localhost' : window.location.origin);
    return (
      <main className="page">
        <h1>{TEXT.heading}</h1>
        <p>
          {TEXT.signedInAs}{' '}
          <strong id="account-username">
            <bdi>{session.account.username}</bdi>
          </strong>
        </p>
        <p className="hint">
          {TEXT.displayName}: <bdi>{session.user}</bdi>
        </p>
        {safeNext && (
          <p>
            <a href={safeNext}>{TEXT.continue}</a>
          </p>
        )}
        <button id="sign-out" type="button" disabled={signingOut} onClick={() => void signOut()}>
          {signingOut ? TEXT.signingOut : TEXT.signOut}
        </button>
        {signOutError && (
          <p role="alert" className="error">
            {signOutError}
          </p>
        )}
      </main>
    );
  }
  return (
    <main className="page">
      <h1>{TEXT.heading}</h1>
      <p className="hint">{TEXT.guestIntro}</p>
      <div className="account-forms">
        <CredentialsForm kind="sign-in" onDone={() => fullPageLoad(destination())} />
        <CredentialsForm kind="sign-up" onDone={() => fullPageLoad(destination())} />
      </div>
    </main>
  );
}

function CredentialsForm({ kind, onDone }: { readonly kind: 'sign-in' | 'sign-up'; readonly onDone: () => void }) {
  const TEXT = useI18n().t.account;
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const signUp = kind === 'sign-up';
  const id = (part: string): string => `${kind}-${part}`;

  async function submit(event: FormEvent): Promise<void> {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await (signUp ? chatApi.signUp(username.trim(), password) : chatApi.signIn(username.trim(), password));
      onDone();
    } catch (failure) {
      setError(explain(TEXT, failure));
      setBusy(false);
    }
  }

  const described = [signUp ? id('rules') : null, error ? id('error') : null].filter(Boolean).join(' ') || undefined;
  return (
    <form id={id('form')} className="stack-form" aria-labelledby={id('heading')} onSubmit={(event) => void submit(event)}>
      <h2 id={id('heading')}>{signUp ? TEXT.signUpHeading : TEXT.signInHeading}</h2>
      <label htmlFor={id('username')}>{TEXT.username}</label>
      <input
        id={id('username')}
        name="username"
        value={username}
        required
        dir="auto"
        autoComplete="username"
        autoCapitalize="none"
        spellCheck={false}
        aria-describedby={described}
        aria-invalid={error ? true : undefined}
        onChange={(event) => setUsername(event.target.value)}
        onKeyDown={blockComposingEnter}
      />
      <label htmlFor={id('password')}>{TEXT.password}</label>
      <input
        id={id('password')}
        name="password"
        type="password"
        value={password}
        required
        autoComplete={signUp ? 'new-password' : 'current-password'}
        aria-describedby={described}
        aria-invalid={error ? true : undefined}
        onChange={(event) => setPassword(event.target.value)}
        onKeyDown={blockComposingEnter}
      />
      {signUp && (
        <p id={id('rules')} className="hint">
          {TEXT.usernameRules} {TEXT.passwordRules}
        </p>
      )}
      <button id={id('submit')} type="submit" disabled={busy}>
        {busy ? TEXT.working : signUp ? TEXT.signUpButton : TEXT.signInButton}
      </button>
      {error && (
        <p id={id('error')} role="alert" className="error">
          {error}
        </p>
      )}
    </form>
  );
}

'use client';

import Link from 'next/link';
import { useSession } from './use-session';

const TEXT = {
  label: 'Site',
  home: 'Home',
  rooms: 'Your rooms',
  signIn: 'Sign in',
  accountOf: (username: string) => `Account: ${username}`,
} as const;

/** The bar above every page: home, the room list, and "Sign in" or the account's user name. */
export function SiteNav() {
  const state = useSession();
  const account = state.status === 'ready' ? state.session.account : null;
  return (
    <nav className="site-nav" aria-label={TEXT.label}>
      <Link href="/">{TEXT.home}</Link>
      <Link href="/rooms/" id="nav-rooms">
        {TEXT.rooms}
      </Link>
      <span className="site-nav-end">
        {state.status !== 'loading' && (
          <Link href="/account/" id="nav-account" aria-label={account ? TEXT.accountOf(account.username) : undefined}>
            {account ? <bdi>{account.username}</bdi> : TEXT.signIn}
          </Link>
        )}
      </span>
    </nav>
  );
}

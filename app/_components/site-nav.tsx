'use client';

import Link from 'next/link';
import { useRouter } from 'next/navigation';
import type { Locale } from '@/lib/client';
import { useI18n } from '../_i18n/i18n';
import { useSession } from './use-session';

/** Each language named in itself, as a reader of it looks for it. */
const LANGUAGE_NAMES: ReadonlyArray<readonly [Locale, string, string]> = [
  ['zh', '中文', 'zh-CN'],
  ['en', 'English', 'en'],
];

/** The bar above every page: home, the room list, search, "Sign in" or the account's user name, and the language. */
export function SiteNav() {
  const state = useSession();
  const { t, locale, setLocale } = useI18n();
  const router = useRouter();
  const account = state.status === 'ready' ? state.session.account : null;
  return (
    <nav className="site-nav" aria-label={t.nav.label}>
      <Link href="/">{t.nav.home}</Link>
      <Link href="/rooms/" id="nav-rooms">
        {t.nav.rooms}
      </Link>
      <Link href="/search/" id="nav-search">
        {t.nav.search}
      </Link>
      <span className="site-nav-end">
        <span id="language-switch" role="group" aria-label={t.nav.language} className="language-switch">
          {LANGUAGE_NAMES.map(([code, name, lang], index) => (
            <span key={code}>
              {index > 0 && ' / '}
              <button
                type="button"
                className="link-button"
                lang={lang}
                data-locale={code}
                aria-pressed={locale === code}
                onClick={() => {
                  setLocale(code);
                  // Server-rendered parts (page titles) follow the new cookie.
                  router.refresh();
                }}
              >
                {name}
              </button>
            </span>
          ))}
        </span>
        {state.status !== 'loading' && (
          <Link href="/account/" id="nav-account" aria-label={account ? t.nav.accountOf(account.username) : undefined}>
            {account ? <bdi>{account.username}</bdi> : t.nav.signIn}
          </Link>
        )}
      </span>
    </nav>
  );
}

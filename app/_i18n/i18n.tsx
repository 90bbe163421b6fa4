'use client';

import { createContext, type ReactNode, useCallback, useContext, useEffect, useMemo, useState, useSyncExternalStore } from 'react';
import { HTML_LANG, type Locale, LOCALE_COOKIE, localeCookie, localeFromLanguages } from '@/lib/client';
import { MESSAGES, type Messages, type Plural } from './messages';

/** Dates, times, numbers and plurals in the UI's language, all through Intl. */
export interface Formats {
  /** 14:05 */
  readonly time: (ts: number) => string;
  /** Dec 5 */
  readonly shortDate: (ts: number) => string;
  /** Dec 5, 2026, 14:05 */
  readonly dateTime: (ts: number) => string;
  /** "3 minutes ago", "in 7 days": the unit that fits the distance from `now`. */
  readonly relative: (ts: number, now: number) => string;
  readonly number: (n: number) => string;
  /** The form of a counted phrase for `n`, with `n` formatted. */
  readonly plural: (forms: Plural, n: number) => string;
  /** "A, B and C": the pieces of a list of names, each name an `element` part (to isolate it in a `<bdi>`). */
  readonly listParts: (items: readonly string[]) => ReadonlyArray<{ readonly type: 'element' | 'literal'; readonly value: string }>;
}

export interface I18n {
  readonly locale: Locale;
  readonly t: Messages;
  readonly format: Formats;
  /** Switches the UI now and keeps the choice in the `lang` cookie. */
  readonly setLocale: (locale: Locale) => void;
}

const UNITS: ReadonlyArray<readonly [Intl.RelativeTimeFormatUnit, number]> = [
  ['second', 60],
  ['minute', 60],
  ['hour', 24],
  ['day', 7],
  ['week', 4.35],
  ['month', 12],
  ['year', Infinity],
];

export function formatsFor(locale: Locale): Formats {
  const tag = HTML_LANG[locale];
  const time = new Intl.DateTimeFormat(tag, { hour: '2-digit', minute: '2-digit' });
  const shortDate = new Intl.DateTimeFormat(tag, { month: 'short', day: 'numeric' });
  const dateTime = new Intl.DateTimeFormat(tag, { dateStyle: 'medium', timeStyle: 'short' });
  const relative = new Intl.RelativeTimeFormat(tag, { numeric: 'auto' });
  const number = new Intl.NumberFormat(tag);
  const plurals = new Intl.PluralRules(tag);
  const list = new Intl.ListFormat(tag, { style: 'long', type: 'conjunction' });
  return {
    time: (ts) => time.format(ts),
    shortDate: (ts) => shortDate.format(ts),
    dateTime: (ts) => dateTime.format(ts),
    relative: (ts, now) => {
      let amount = (ts - now) / 1000;
      for (const [unit, size] of UNITS) {
        if (Math.abs(amount) < size) return relative.format(Math.round(amount), unit);
        amount /= size;
      }
      return relative.format(Math.round(amount), 'year');
    },
    number: (n) => number.format(n),
    plural: (forms, n) => (forms[plurals.select(n)] ?? forms.other)(number.format(n)),
    listParts: (items) => list.formatToParts(items),
  };
}

const I18nContext = createContext<I18n | null>(null);

function subscribeNever(): () => void {
  return () => {};
}

function hasLocaleCookie(): boolean {
  return document.cookie.split(';').some((part) => part.trim().startsWith(`${LOCALE_COOKIE}=`));
}

/**
 * The UI's language for every client component. The server picks it (the `lang` cookie, else
 * Accept-Language) and renders with it, so the first client render matches; without a cookie,
 * navigator.languages may then differ from the header (a proxy rewrote it, say), and wins.
 */
export function I18nProvider({ initialLocale, children }: { readonly initialLocale: Locale; readonly children: ReactNode }) {
  const [chosen, setChosen] = useState<Locale | null>(null);
  // Null while hydrating (the server's snapshot), so the first render is the server's.
  const browserLocale = useSyncExternalStore(
    subscribeNever,
    () => (hasLocaleCookie() ? null : localeFromLanguages(navigator.languages ?? [navigator.language])),
    () => null,
  );
  const locale = chosen ?? browserLocale ?? initialLocale;

  useEffect(() => {
    document.documentElement.lang = HTML_LANG[locale];
  }, [locale]);

  const setLocale = useCallback((next: Locale) => {
    document.cookie = localeCookie(next);
    setChosen(next);
  }, []);

  const value = useMemo<I18n>(() => ({ locale, t: MESSAGES[locale], format: formatsFor(locale), setLocale }), [locale, setLocale]);
  return <I18nContext.Provider value={value}>{children}</I18nContext.Provider>;
}

export function useI18n(): I18n {
  const i18n = useContext(I18nContext);
  if (!i18n) throw new Error('useI18n outside I18nProvider');
  return i18n;
}

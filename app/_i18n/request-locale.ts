import { cookies, headers } from 'next/headers';
import { type Locale, LOCALE_COOKIE, requestLocale } from '@/lib/client/locale';
import { MESSAGES, type Messages } from './messages';

/** The UI language of this request: the `lang` cookie, else Accept-Language. */
export async function serverLocale(): Promise<Locale> {
  const [jar, head] = await Promise.all([cookies(), headers()]);
  return requestLocale(jar.get(LOCALE_COOKIE)?.value, head.get('accept-language'));
}

/** The strings of this request's language, for server components and metadata. */
export async function serverMessages(): Promise<Messages> {
  return MESSAGES[await serverLocale()];
}

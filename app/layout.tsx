import type { Metadata, Viewport } from 'next';
import type { ReactNode } from 'react';
import { HTML_LANG } from '@/lib/client/locale';
import { SiteNav } from './_components/site-nav';
import { Toasts } from './_components/toasts';
import { I18nProvider } from './_i18n/i18n';
import { serverLocale, serverMessages } from './_i18n/request-locale';
import './globals.css';

export async function generateMetadata(): Promise<Metadata> {
  const t = await serverMessages();
  return { title: t.appName, description: t.appDescription };
}

export const viewport: Viewport = { width: 'device-width', initialScale: 1 };

// Every page, the not-found page included, is rendered per request: its scripts carry the nonce
// of that response's Content-Security-Policy (lib/chat/security-headers.ts), which a page
// prerendered at build time cannot know; and its language is the request's.
export const dynamic = 'force-dynamic';

export default async function RootLayout({ children }: { children: ReactNode }) {
  const locale = await serverLocale();
  return (
    <html lang={HTML_LANG[locale]}>
      <body>
        <I18nProvider initialLocale={locale}>
          <SiteNav />
          {children}
          <Toasts />
        </I18nProvider>
      </body>
    </html>
  );
}

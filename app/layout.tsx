import type { Metadata, Viewport } from 'next';
import type { ReactNode } from 'react';
import { SiteNav } from './_components/site-nav';
import { Toasts } from './_components/toasts';
import './globals.css';

export const metadata: Metadata = {
  title: 'Channels Chat',
  description: 'A real-time chat on a Django-Channels-style layer for Next.js',
};

export const viewport: Viewport = { width: 'device-width', initialScale: 1 };

// Every page, the not-found page included, is rendered per request: its scripts carry the nonce
// of that response's Content-Security-Policy (lib/chat/security-headers.ts), which a page
// prerendered at build time cannot know.
export const dynamic = 'force-dynamic';

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>
        <SiteNav />
        {children}
        <Toasts />
      </body>
    </html>
  );
}

import type { Metadata, Viewport } from 'next';
import type { ReactNode } from 'react';
import { Toasts } from './_components/toasts';
import './globals.css';

export const metadata: Metadata = {
  title: 'Channels Chat',
  description: 'A real-time chat on a Django-Channels-style layer for Next.js',
};

export const viewport: Viewport = { width: 'device-width', initialScale: 1 };

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>
        {children}
        <Toasts />
      </body>
    </html>
  );
}

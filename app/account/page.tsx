import type { Metadata } from 'next';
import { AccountPage } from '../_components/account';

export const dynamic = 'force-dynamic';

export const metadata: Metadata = { title: 'Account · Channels Chat' };

type Props = { readonly searchParams: Promise<{ next?: string | string[] }> };

export default async function Account({ searchParams }: Props) {
  const { next } = await searchParams;
  return <AccountPage next={typeof next === 'string' ? next : null} />;
}

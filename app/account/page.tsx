import type { Metadata } from 'next';
import { serverMessages } from '../_i18n/request-locale';
import { AccountPage } from '../_components/account';

export const dynamic = 'force-dynamic';

export async function generateMetadata(): Promise<Metadata> {
  const t = await serverMessages();
  return { title: t.pageTitle(t.account.heading) };
}

type Props = { readonly searchParams: Promise<{ next?: string | string[] }> };

export default async function Account({ searchParams }: Props) {
  const { next } = await searchParams;
  return <AccountPage next={typeof next === 'string' ? next : null} />;
}

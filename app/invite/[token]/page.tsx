import type { Metadata } from 'next';
import { serverMessages } from '../../_i18n/request-locale';
import { InviteJoin } from '../../_components/invite';

export const dynamic = 'force-dynamic';

export async function generateMetadata(): Promise<Metadata> {
  const t = await serverMessages();
  return { title: t.pageTitle(t.invite.title) };
}

type Props = { readonly params: Promise<{ token: string }> };

export default async function InvitePage({ params }: Props) {
  const { token } = await params;
  return <InviteJoin token={token} />;
}

import type { Metadata } from 'next';
import { InviteJoin } from '../../_components/invite';

export const dynamic = 'force-dynamic';

export const metadata: Metadata = { title: 'Invitation · Channels Chat' };

type Props = { readonly params: Promise<{ token: string }> };

export default async function InvitePage({ params }: Props) {
  const { token } = await params;
  return <InviteJoin token={token} />;
}

import type { Metadata } from 'next';
import { notFound } from 'next/navigation';
import { isValidRoomName } from '@/lib/chat/protocol';
import { ChatRoom } from '../../_components/chat-room';
import { serverMessages } from '../../_i18n/request-locale';

export const dynamic = 'force-dynamic';

type Props = { readonly params: Promise<{ room: string }> };

export async function generateMetadata({ params }: Props): Promise<Metadata> {
  const { room } = await params;
  return { title: (await serverMessages()).pageTitle(room) };
}

export default async function ChatPage({ params }: Props) {
  const { room } = await params;
  if (!isValidRoomName(room)) notFound();
  return <ChatRoom key={room} room={room} />;
}

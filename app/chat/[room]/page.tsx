import type { Metadata } from 'next';
import { notFound } from 'next/navigation';
import { isValidRoomName } from '@/lib/chat/protocol';
import { ChatRoom } from '../../_components/chat-room';
import { serverMessages } from '../../_i18n/request-locale';

export const dynamic = 'force-dynamic';

type Props = {
  readonly params: Promise<{ room: string }>;
  readonly searchParams: Promise<Record<string, string | string[] | undefined>>;
};

export async function generateMetadata({ params }: Props): Promise<Metadata> {
  const { room } = await params;
  return { title: (await serverMessages()).pageTitle(room) };
}

export default async function ChatPage({ params, searchParams }: Props) {
  const { room } = await params;
  if (!isValidRoomName(room)) notFound();
  // `?at=<id>`: a message to show in its place in the log (a search result).
  const { at } = await searchParams;
  return <ChatRoom key={room} room={room} at={typeof at === 'string' ? at : null} />;
}

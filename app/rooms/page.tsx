import type { Metadata } from 'next';
import { serverMessages } from '../_i18n/request-locale';
import { RoomList } from '../_components/room-list';

export const dynamic = 'force-dynamic';

export async function generateMetadata(): Promise<Metadata> {
  const t = await serverMessages();
  return { title: t.pageTitle(t.rooms.heading) };
}

export default function RoomsPage() {
  return <RoomList />;
}

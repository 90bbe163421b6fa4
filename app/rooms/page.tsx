import type { Metadata } from 'next';
import { RoomList } from '../_components/room-list';

export const dynamic = 'force-dynamic';

export const metadata: Metadata = { title: 'Your rooms · Channels Chat' };

export default function RoomsPage() {
  return <RoomList />;
}

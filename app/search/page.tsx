import type { Metadata } from 'next';
import { isValidRoomName } from '@/lib/chat/protocol';
import { serverMessages } from '../_i18n/request-locale';
import { Search } from '../_components/search';

export const dynamic = 'force-dynamic';

type Props = { readonly searchParams: Promise<Record<string, string | string[] | undefined>> };

export async function generateMetadata(): Promise<Metadata> {
  const t = await serverMessages();
  return { title: t.pageTitle(t.search.heading) };
}

function one(value: string | string[] | undefined): string | null {
  return typeof value === 'string' ? value : (value?.[0] ?? null);
}

/** `/search/?q=<text>&room=<room>`: the query lives in the address, so a search can be shared, reloaded and gone back to. */
export default async function SearchPage({ searchParams }: Props) {
  const params = await searchParams;
  const q = one(params.q) ?? '';
  const room = one(params.room);
  const scope = room !== null && isValidRoomName(room) ? room : null;
  // A new query or room is a new search: state starts afresh.
  return <Search key={`${scope ?? ''}\n${q}`} q={q} room={scope} />;
}

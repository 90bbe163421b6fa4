import { headers } from 'next/headers';
import { chatRuntime } from '@/lib/chat/runtime';
import { Home } from './_components/home';

export const dynamic = 'force-dynamic';

export default async function HomePage() {
  const { sessions } = chatRuntime();
  const session = await sessions.read((await headers()).get('cookie'));
  return <Home initialName={session?.user.name ?? ''} />;
}

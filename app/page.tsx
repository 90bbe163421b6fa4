import { cookies } from 'next/headers';
import { chatRuntime } from '@/lib/chat/runtime';
import { Home } from './_components/home';

export const dynamic = 'force-dynamic';

export default async function HomePage() {
  const { sessions } = chatRuntime();
  const user = sessions.read((await cookies()).get(sessions.cookieName)?.value);
  return <Home initialName={user?.name ?? ''} />;
}

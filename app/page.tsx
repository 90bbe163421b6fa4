import { cookies } from 'next/headers';
import { chatRuntime } from '@/lib/chat/runtime';

export const dynamic = 'force-dynamic';

export default async function HomePage() {
  const { sessions } = chatRuntime();
  const user = sessions.read((await cookies()).get(sessions.cookieName)?.value);
  return (
    <main>
      <h1>Channels Chat</h1>
      <p>
        Signed in as <strong id="session-user">{user?.name ?? 'nobody'}</strong>.
      </p>
      <p>
        Chat sockets live at <code>/ws/chat/&lt;room&gt;/</code>.
      </p>
    </main>
  );
}

import { unsealData } from 'iron-session';
import { AllowedOrigins, type Authentication, authMiddleware, originValidator, route, type Scope, urlRouter } from 'next-channels';
import { type SessionData, sessionOptions } from '../session';
import { PollConsumer } from './poll';
import { RoomConsumer } from './room';

/** Who the socket's page signed in as: the login's sealed cookie, read as the pages read it. */
export async function userFromSession(scope: Scope): Promise<Authentication> {
  const sealed = scope.cookies[sessionOptions.cookieName];
  if (sealed === undefined) return null;
  let session: SessionData;
  try {
    session = await unsealData<SessionData>(sealed, sessionOptions);
  } catch {
    // A cookie that is not a seal at all: as anonymous as a forged or expired one (which unseal to {}).
    return null;
  }
  const user = session.user;
  if (typeof user?.id !== 'string' || typeof user.name !== 'string') return null;
  return { user: { id: user.id, name: user.name } };
}

/** The project's routing: the room is open to anyone, the poll to those signed in; pages of this machine only. */
export const application = originValidator(
  authMiddleware(
    urlRouter([
      route('/ws/room/:room/', RoomConsumer, { params: { room: /^[a-z0-9-]{1,32}$/ } }),
      route('/ws/poll/', PollConsumer, { authorize: (scope) => scope.user !== null }),
    ]),
    userFromSession,
  ),
  AllowedOrigins.localDefaults(Number(process.env.PORT ?? 3000)),
);

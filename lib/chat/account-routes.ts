import type { Session } from 'next-channels';
import type { SignedIn } from './accounts';
import { requestSession } from './chat-identity';
import { bodyFields, clientAddress, crossSite, noStore, problem, refusal } from './http-answers';
import { readJsonBody, SESSION_BODY_MAX_BYTES } from './json-body';
import type { ChatRuntime } from './runtime';

/**
 * The chat's account routes: sign up, sign in, change the password. Each is same-origin only
 * (403 otherwise), takes `application/json` within 4 KiB (415, 413), is rate limited per
 * address and per account (429 with `Retry-After`), and answers with a new session cookie: who a
 * browser is changes only with a new session id.
 */

/** `POST /api/accounts` with `{"username", "password"}`: 201, signed in as the new account. */
export function signUp(request: Request, runtime: ChatRuntime): Promise<Response> {
  return answer(request, runtime, 201, async (current, body) => runtime.accounts.signUp(current, fields(body), clientAddress(request), runtime.layer));
}

/** `POST /api/session/sign-in` with `{"username", "password"}`: 200, signed in; 401 `bad_credentials`. */
export function signIn(request: Request, runtime: ChatRuntime): Promise<Response> {
  return answer(request, runtime, 200, async (current, body) => runtime.accounts.signIn(current, fields(body), clientAddress(request), runtime.layer));
}

/**
 * `POST /api/account/password` with `{"password", "new_password"}`: 200; every other session of
 * the account ends, and their sockets close, in every process.
 */
export function changePassword(request: Request, runtime: ChatRuntime): Promise<Response> {
  return answer(request, runtime, 200, async (current, body) => {
    if (!current) return problem(401, 'sign_in_required', 'sign in to change your password');
    const { password, new_password: newPassword } = bodyFields(body);
    return runtime.accounts.changePassword(current, { password, newPassword }, runtime.layer);
  });
}

/**
 * `POST /api/session/ticket` with `{}`: 201 `{"ticket", "expires_in_ms"}`, a single-use ticket
 * for this session's WebSocket (`/ws/chat/<room>/?ticket=<it>`), good for 30 s, on any process.
 * For a client that cannot send the session cookie with its socket.
 */
export async function issueTicket(request: Request, runtime: ChatRuntime): Promise<Response> {
  const refused = crossSite(request, runtime.allowedOrigins);
  if (refused) return noStore(refused);
  try {
    await readJsonBody(request, SESSION_BODY_MAX_BYTES);
    const session = await requestSession(request, runtime.sessions);
    if (!session) return noStore(problem(401, 'no_session', 'no valid session; load a page or sign in first'));
    const ticket = await runtime.accounts.ticket(session, runtime.tickets);
    return noStore(Response.json({ ticket, expires_in_ms: TICKET_TTL_MS }, { status: 201 }));
  } catch (error) {
    return noStore(refusal(error));
  }
}

/** How long a ticket waits to be used: `WebsocketTickets`' default. */
const TICKET_TTL_MS = 30_000;

async function answer(
  request: Request,
  runtime: ChatRuntime,
  status: number,
  work: (current: Session | null, body: unknown) => Promise<SignedIn | Response>,
): Promise<Response> {
  const refused = crossSite(request, runtime.allowedOrigins);
  if (refused) return noStore(refused);
  try {
    const body = await readJsonBody(request, SESSION_BODY_MAX_BYTES);
    const current = await requestSession(request, runtime.sessions);
    const done = await work(current, body);
    if (done instanceof Response) return noStore(done);
    const { session, account } = done;
    return noStore(
      Response.json(
        { user_id: session.user.id, user: session.user.name, account: { username: account.username } },
        { status, headers: { 'set-cookie': runtime.sessions.setCookieHeader(session) } },
      ),
    );
  } catch (error) {
    return noStore(refusal(error));
  }
}

function fields(body: unknown): { readonly username: unknown; readonly password: unknown } {
  const { username, password } = bodyFields(body);
  return { username, password };
}

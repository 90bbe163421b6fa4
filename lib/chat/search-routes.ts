import { requestSession } from './chat-identity';
import { messageFrame } from './chat-service';
import { clientAddress, noStore, problem, refusal } from './http-answers';
import type { ChatRuntime } from './runtime';

/**
 * `GET /api/search?q=<text>&room=<room>&before=<next>&limit=<n>`: messages matching `q` in the
 * rooms the person of the session cookie may read (see `MessageSearch`), newest first, as chat
 * message frames (each with its room), and `next`, the `before` of the following page or `null`.
 * Never cached. `q` is 1 to 100 characters; a search is rate limited per person and per address.
 */
export async function searchMessages(request: Request, runtime: ChatRuntime): Promise<Response> {
  try {
    const session = await requestSession(request, runtime.sessions);
    if (!session) return noStore(problem(401, 'no_session', 'no valid session cookie; load a page first'));
    const params = new URL(request.url).searchParams;
    const page = await runtime.search.search(session.user.id, clientAddress(request), {
      q: params.get('q'),
      room: params.get('room'),
      before: params.get('before'),
      limit: params.get('limit'),
    });
    return noStore(Response.json({ results: page.hits.map((hit) => messageFrame(hit.message)), next: page.next }));
  } catch (error) {
    return noStore(refusal(error));
  }
}

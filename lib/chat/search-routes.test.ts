/**
 * `GET /api/search` through its route function, over the chat world (memory store): who finds
 * what, in which rooms, and the bounds of a request.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { newSessionId } from 'next-channels';
import { signUp } from './account-routes';
import { newGuest } from './identity';
import type { ChatMessageFrame } from './protocol';
import { addMember, createRoom, removeMember } from './room-routes';
import { MAX_SEARCH_QUERY_CHARS } from './search';
import { searchMessages } from './search-routes';
import { chatWorld, cookieOf, TEST_ORIGIN } from './test-world';

interface SearchAnswer {
  readonly results: readonly ChatMessageFrame[];
  readonly next: string | null;
}

function world() {
  const w = chatWorld();
  const request = (method: string, url: string, cookie: string | null, body?: unknown, address = '198.51.100.7'): Request =>
    new Request(`http://localhost:3000${url}`, {
      method,
      headers: { origin: TEST_ORIGIN, 'x-chat-client-address': address, ...(cookie ? { cookie } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  const guestCookie = (): string => cookieOf(w.sessions.setCookieHeader({ id: newSessionId(), user: newGuest() }));
  const person = async (username: string): Promise<{ cookie: string; userId: string }> => {
    const response = await signUp(request('POST', '/api/accounts', guestCookie(), { username, password: 'correct horse 马' }), w.chat);
    assert.equal(response.status, 201, await response.clone().text());
    return { cookie: cookieOf(response.headers.get('set-cookie')!), userId: ((await response.json()) as { user_id: string }).user_id };
  };
  const privateRoom = async (owner: string): Promise<string> => {
    const response = await createRoom(request('POST', '/api/rooms', owner, { title: '项目' }), w.chat);
    assert.equal(response.status, 201);
    return ((await response.json()) as { room: string }).room;
  };
  const say = async (room: string, text: string, userId = 'u_someone'): Promise<void> => {
    w.advance(1_000);
    await w.store.append({ room, userId, user: 'Someone', text });
  };
  const search = (cookie: string | null, params: Record<string, string>, address?: string): Promise<Response> =>
    searchMessages(request('GET', `/api/search?${new URLSearchParams(params)}`, cookie, undefined, address), w.chat);
  /** The texts found, newest first. */
  const found = async (cookie: string, params: Record<string, string>): Promise<string[]> => {
    const response = await search(cookie, params);
    assert.equal(response.status, 200, await response.clone().text());
    return ((await response.json()) as SearchAnswer).results.map((frame) => frame.message);
  };
  return { ...w, request, guestCookie, person, privateRoom, say, search, found };
}

async function problemOf(response: Response): Promise<[number, string]> {
  return [response.status, ((await response.json()) as { error: string }).error];
}

describe('GET /api/search', () => {
  it('finds a Chinese word in the public rooms a person opened, as chat message frames, never cached', async () => {
    const w = world();
    const ana = await w.person('ana');
    await w.say('lobby', '明天在北京开会');
    await w.say('lobby', 'nothing here');
    await w.say('garden', '北京的花园');
    await w.say('elsewhere', '北京 elsewhere');
    await w.store.directory.recordVisit('garden', ana.userId, 'ana', 1);
    const response = await w.search(ana.cookie, { q: '北京' });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('cache-control'), 'no-store');
    const body = (await response.json()) as SearchAnswer;
    assert.deepEqual(
      body.results.map((frame) => [frame.type, frame.room, frame.id, frame.message]),
      [
        ['chat.message', 'garden', '1', '北京的花园'],
        ['chat.message', 'lobby', '1', '明天在北京开会'],
      ],
    );
    assert.equal(body.next, null);
    // Any public room, named.
    assert.deepEqual(await w.found(ana.cookie, { q: '北京', room: 'elsewhere' }), ['北京 elsewhere']);
    // A guest too: public rooms are everyone's.
    assert.deepEqual(await w.found(w.guestCookie(), { q: '开会' }), ['明天在北京开会']);
  });

  it("never finds a private room's messages for a non-member, named or not; a removed member stops finding them", async () => {
    const w = world();
    const ana = await w.person('ana');
    const bo = await w.person('bo');
    const cy = await w.person('cy');
    const room = await w.privateRoom(ana.cookie);
    assert.equal((await addMember(w.request('POST', `/api/rooms/${room}/members`, ana.cookie, { username: 'bo' }), room, w.chat)).status, 201);
    await w.say(room, '秘密会议 secret', ana.userId);

    assert.deepEqual(await w.found(ana.cookie, { q: '会议' }), ['秘密会议 secret']);
    assert.deepEqual(await w.found(bo.cookie, { q: 'SECRET' }), ['秘密会议 secret']);
    assert.deepEqual(await w.found(bo.cookie, { q: '会议', room }), ['秘密会议 secret']);
    for (const cookie of [cy.cookie, w.guestCookie()]) {
      assert.deepEqual(await w.found(cookie, { q: '会议' }), []);
      // Named: the answer of a room nobody made.
      const named = await w.search(cookie, { q: '会议', room });
      const nobody = await w.search(cookie, { q: '会议', room: '_pnobodymadethisroom00000' });
      assert.deepEqual([named.status, await named.text()], [nobody.status, await nobody.text()]);
      assert.equal(named.status, 404);
    }

    assert.equal((await removeMember(w.request('DELETE', `/api/rooms/${room}/members/${bo.userId}`, ana.cookie), room, bo.userId, w.chat)).status, 204);
    assert.deepEqual(await w.found(bo.cookie, { q: '会议' }), []);
    assert.deepEqual(await problemOf(await w.search(bo.cookie, { q: '会议', room })), [404, 'not_found']);
    assert.deepEqual(await w.found(ana.cookie, { q: '会议' }), ['秘密会议 secret']);
  });

  it('pages with next, newest first', async () => {
    const w = world();
    const ana = await w.person('ana');
    for (let n = 1; n <= 5; n++) await w.say('lobby', `报告 ${n}`);
    const first = (await (await w.search(ana.cookie, { q: '报告', limit: '2' })).json()) as SearchAnswer;
    assert.deepEqual(first.results.map((frame) => frame.message), ['报告 5', '报告 4']);
    assert.ok(first.next);
    const second = (await (await w.search(ana.cookie, { q: '报告', limit: '2', before: first.next })).json()) as SearchAnswer;
    assert.deepEqual(second.results.map((frame) => frame.message), ['报告 3', '报告 2']);
    const third = (await (await w.search(ana.cookie, { q: '报告', limit: '2', before: second.next! })).json()) as SearchAnswer;
    assert.deepEqual([third.results.map((frame) => frame.message), third.next], [['报告 1'], null]);
  });

  it('bounds every input: a session, a query of 1 to 100 characters, a valid room, limit and cursor', async () => {
    const w = world();
    const ana = await w.person('ana');
    assert.deepEqual(await problemOf(await w.search(null, { q: 'x' })), [401, 'no_session']);
    assert.deepEqual(await problemOf(await w.search(ana.cookie, {})), [400, 'invalid']);
    assert.deepEqual(await problemOf(await w.search(ana.cookie, { q: '   ' })), [400, 'invalid']);
    assert.deepEqual(await problemOf(await w.search(ana.cookie, { q: '字'.repeat(MAX_SEARCH_QUERY_CHARS + 1) })), [400, 'too_long']);
    assert.equal((await w.search(ana.cookie, { q: '😀'.repeat(MAX_SEARCH_QUERY_CHARS) })).status, 200, '100 characters, 200 code units');
    assert.deepEqual(await problemOf(await w.search(ana.cookie, { q: 'x', room: 'bad room!' })), [404, 'not_found']);
    for (const limit of ['0', '51', '-1', 'ten', '1e1']) assert.deepEqual(await problemOf(await w.search(ana.cookie, { q: 'x', limit })), [400, 'invalid'], limit);
    for (const before of ['', 'x', '1:2', '1:2:bad room', `${'9'.repeat(16)}:1:lobby`, `1:${'9'.repeat(19)}:lobby`]) {
      assert.deepEqual(await problemOf(await w.search(ana.cookie, { q: 'x', before })), [400, 'invalid'], before);
    }
    assert.deepEqual(await w.found(ana.cookie, { q: '!!!' }), [], 'nothing to search for finds nothing');
  });

  it('limits searches per person, then per address', async () => {
    const w = world();
    const ana = await w.person('ana');
    const statuses: number[] = [];
    for (let n = 0; n < 6; n++) statuses.push((await w.search(ana.cookie, { q: 'x' })).status);
    assert.deepEqual(statuses, [200, 200, 200, 200, 200, 429]);
    const refused = await w.search(ana.cookie, { q: 'x' });
    assert.equal(refused.status, 429);
    assert.ok(Number(refused.headers.get('retry-after')) >= 1);
    w.advance(1_000);
    assert.equal((await w.search(ana.cookie, { q: 'x' })).status, 200, 'one more a second');
    // Fresh guest cookies from one address run into the address's limit.
    const byAddress: number[] = [];
    for (let n = 0; n < 20; n++) byAddress.push((await w.search(w.guestCookie(), { q: 'x' }, '203.0.113.9')).status);
    assert.ok(byAddress.includes(429));
    assert.equal(byAddress.indexOf(429), 15);
  });

  it('answers any query string with 200 and frames, or a 4xx problem, never an error', async () => {
    const w = world();
    const ana = await w.person('ana');
    await w.say('lobby', '明天在北京开会 meeting ＯＫ');
    const text = fc.oneof(fc.string({ unit: 'grapheme', maxLength: 120 }), fc.string({ unit: 'binary', maxLength: 120 }), fc.constantFrom('北京', '"', "'", '*', 'a AND b', '\\', 'x:*'));
    await fc.assert(
      fc.asyncProperty(
        fc.record({ q: text, room: fc.option(fc.oneof(fc.constant('lobby'), fc.string({ maxLength: 70 }))), before: fc.option(fc.string({ maxLength: 40 })), limit: fc.option(fc.string({ maxLength: 4 })) }),
        async ({ q, room, before, limit }) => {
          w.advance(10_000);
          const params: Record<string, string> = { q, ...(room === null ? {} : { room }), ...(before === null ? {} : { before }), ...(limit === null ? {} : { limit }) };
          const response = await w.search(ana.cookie, params);
          assert.equal(response.headers.get('cache-control'), 'no-store');
          if (response.status === 200) {
            const body = (await response.json()) as SearchAnswer;
            assert.ok(body.results.every((frame) => frame.type === 'chat.message' && frame.room === 'lobby'));
          } else {
            assert.ok([400, 404].includes(response.status), `${response.status} for ${JSON.stringify(params)}`);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

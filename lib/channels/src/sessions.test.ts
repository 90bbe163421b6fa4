import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { describe, it } from 'node:test';
import { WebsocketConsumer } from './consumer';
import { InMemoryChannelLayer } from './layers/in-memory';
import { route, urlRouter } from './routing';
import type { SessionRevocations } from './session-revocations';
import { SessionCookies, sessionMiddleware } from './sessions';
import { WebsocketCommunicator } from './testing/communicator';

const SECRET = 'a-test-secret-that-is-long-enough-000';
const DAY = 86_400_000;

/** The revocations of a shared database, in memory. */
class Revocations implements SessionRevocations {
  readonly revoked = new Map<string, number>();
  reads = 0;
  /** The database is unreachable: every call fails. */
  down = false;
  constructor(readonly now: () => number = Date.now) {}
  async revokeSession(id: string, expiresAt: number): Promise<void> {
    if (this.down) throw new Error('the database is unreachable');
    this.revoked.set(id, expiresAt);
  }
  async isSessionRevoked(id: string): Promise<boolean> {
    if (this.down) throw new Error('the database is unreachable');
    this.reads++;
    return (this.revoked.get(id) ?? 0) > this.now();
  }
}

const cookie = (sessions: SessionCookies, value: string) => `theme=dark; ${sessions.cookieName}=${value}`;

function request(cookieHeader?: string): { req: IncomingMessage; res: ServerResponse } {
  const req = new IncomingMessage(new Socket());
  if (cookieHeader !== undefined) req.headers.cookie = cookieHeader;
  return { req, res: new ServerResponse(req) };
}

describe('SessionCookies', () => {
  it('reads back what it signed, Chinese names included, with its session id', async () => {
    const sessions = new SessionCookies({ secret: SECRET });
    const value = sessions.sign({ id: 'u1', name: '小明' }, 'a-session-id-0123456');
    assert.deepEqual(await sessions.read(cookie(sessions, value)), { id: 'a-session-id-0123456', user: { id: 'u1', name: '小明' } });
    const other = await sessions.read(cookie(sessions, sessions.sign({ id: 'u1', name: '小明' })));
    assert.match(other?.id ?? '', /^[A-Za-z0-9_-]{22}$/, 'a new random session id by default');
  });

  it('rejects a forged, tampered, malformed or foreign-key cookie', async () => {
    const sessions = new SessionCookies({ secret: SECRET });
    const value = sessions.sign({ id: 'u1', name: 'Ana' });
    const [body, mac] = value.split('.') as [string, string];
    const forgedBody = Buffer.from(JSON.stringify({ u: 'admin', n: 'Ana', t: Math.floor(Date.now() / 1000), s: 'x'.repeat(22) })).toString('base64url');
    for (const forged of [`${forgedBody}.${mac}`, `${body}.${mac.slice(0, -2)}xx`, body, '']) {
      assert.equal(await sessions.read(cookie(sessions, forged)), null, forged);
    }
    assert.equal(await sessions.read(undefined), null);
    assert.equal(await sessions.read(value), null, 'a bare value is no Cookie header');
    const other = new SessionCookies({ secret: `${SECRET}-other` });
    assert.equal(await other.read(cookie(other, value)), null);
  });

  it('rejects an expired cookie and one issued in the future', async () => {
    let now = 1_700_000_000_000;
    const sessions = new SessionCookies({ secret: SECRET, maxAgeMs: 10 * DAY, now: () => now });
    const header = cookie(sessions, sessions.sign({ id: 'u1', name: 'Ana' }));
    now += 11 * DAY;
    assert.equal(await sessions.read(header), null);
    now -= 12 * DAY;
    assert.equal(await sessions.read(header), null);
  });

  it('refuses a short secret, and a __Host- cookie that is not secure', () => {
    assert.throws(() => new SessionCookies({ secret: 'short' }), /at least 32 characters/);
    assert.throws(() => new SessionCookies({ secret: SECRET, cookieName: '__Host-session' }), /must be secure/);
  });

  it('issues an HttpOnly, SameSite=Lax cookie for the whole site; on HTTPS a __Host- one', () => {
    const session = { id: 'a-session-id-0123456', user: { id: 'u1', name: 'Ana' } };
    assert.match(new SessionCookies({ secret: SECRET }).setCookieHeader(session), /^session=[^;]+; Max-Age=\d+; Path=\/; HttpOnly; SameSite=Lax$/);
    const secure = new SessionCookies({ secret: SECRET, secure: true });
    assert.equal(secure.cookieName, '__Host-session');
    assert.match(secure.setCookieHeader(session), /^__Host-session=[^;]+; Max-Age=\d+; Path=\/; HttpOnly; Secure; SameSite=Lax$/);
    assert.equal(secure.clearCookieHeader(), '__Host-session=; Max-Age=0; Path=/; HttpOnly; Secure; SameSite=Lax');
  });

  it('treats a session cookie named twice as no session: it never picks one', async () => {
    const sessions = new SessionCookies({ secret: SECRET });
    const mine = sessions.sign({ id: 'u_mine', name: 'Ana' });
    const planted = sessions.sign({ id: 'u_planted', name: 'Eve' });
    for (const header of [`session=${planted}; session=${mine}`, `session=${mine}; theme=dark; session=${planted}`, `session=${mine};session=${mine}`]) {
      assert.deepEqual(await sessions.inspect(header), { state: 'none', session: null }, header);
    }
  });

  it('gives a request without a session a new one, visible to the same request', async () => {
    const sessions = new SessionCookies({ secret: SECRET });
    const { req, res } = request('theme=dark; session=forged.value');
    const session = await sessions.ensure(req, res, () => ({ id: 'new', name: 'Guest' }));
    assert.deepEqual(session.user, { id: 'new', name: 'Guest' });
    assert.equal((res.getHeader('set-cookie') as string[]).length, 1);
    assert.match(req.headers.cookie ?? '', /^theme=dark; session=[^;]+$/);
    assert.deepEqual(await sessions.read(req.headers.cookie), session);
  });

  it('gives a request with two session cookies a new session, and the request sees only that one', async () => {
    const sessions = new SessionCookies({ secret: SECRET });
    const planted = sessions.sign({ id: 'u_planted', name: 'Eve' });
    const { req, res } = request(`session=${planted}; theme=dark; session=${sessions.sign({ id: 'u_mine', name: 'Ana' })}`);
    const session = await sessions.ensure(req, res, () => ({ id: 'u_new', name: 'Guest' }));
    assert.equal(session.user.id, 'u_new');
    assert.match(req.headers.cookie ?? '', /^theme=dark; session=[^;]+$/);
    assert.deepEqual(await sessions.read(req.headers.cookie), session);
  });

  it('leaves a fresh session alone and renews one past half its age, keeping the user and the session id', async () => {
    let now = 1_700_000_000_000;
    const sessions = new SessionCookies({ secret: SECRET, maxAgeMs: 10 * DAY, now: () => now });
    const header = `session=${sessions.sign({ id: 'u1', name: 'Ana' }, 'the-session-id-00001')}`;
    const fresh = request(header);
    const expected = { id: 'the-session-id-00001', user: { id: 'u1', name: 'Ana' } };
    assert.deepEqual(await sessions.ensure(fresh.req, fresh.res, () => assert.fail('no new user')), expected);
    assert.equal(fresh.res.getHeader('set-cookie'), undefined);
    now += 6 * DAY;
    const renewed = request(header);
    assert.deepEqual(await sessions.ensure(renewed.req, renewed.res, () => assert.fail('no new user')), expected);
    assert.equal((renewed.res.getHeader('set-cookie') as string[]).length, 1);
    now += 5 * DAY;
    assert.deepEqual(await sessions.read(renewed.req.headers.cookie), expected, 'the renewed cookie outlives the first');
  });

  it('reads a cookie signed before session ids, with an id of its own that a renewal keeps', async () => {
    const sessions = new SessionCookies({ secret: SECRET });
    const body = Buffer.from(JSON.stringify({ u: 'u_old', n: 'Ana', t: Math.floor(Date.now() / 1000) })).toString('base64url');
    const legacy = `session=${body}.${createHmac('sha256', SECRET).update(body).digest('base64url')}`;
    const session = await sessions.read(legacy);
    assert.equal(session?.user.id, 'u_old');
    assert.deepEqual(await sessions.read(legacy), session, 'the same id at every read');
    const { req, res } = request(legacy);
    assert.deepEqual(await sessions.ensure(req, res, () => assert.fail('no new user')), session);
    assert.equal((res.getHeader('set-cookie') as string[]).length, 1, 'written again in the current format');
  });

  it('checks the user of every cookie read, and writes a changed one back at the next page load', async () => {
    const sessions = new SessionCookies({ secret: SECRET, checkUser: (user) => (user.name === 'System' ? { id: user.id, name: 'Guest 1' } : user) });
    const header = `session=${sessions.sign({ id: 'u1', name: 'System' }, 'the-session-id-00001')}`;
    assert.deepEqual(await sessions.read(header), { id: 'the-session-id-00001', user: { id: 'u1', name: 'Guest 1' } });
    const { req, res } = request(header);
    await sessions.ensure(req, res, () => assert.fail('no new user'));
    assert.equal((res.getHeader('set-cookie') as string[]).length, 1);
    assert.equal((await new SessionCookies({ secret: SECRET }).read(req.headers.cookie))?.user.name, 'Guest 1');
  });

  it('refuses a revoked session at once here, and in another process once its cache time is over', async () => {
    let now = 1_700_000_000_000;
    const store = new Revocations(() => now);
    const here = new SessionCookies({ secret: SECRET, revocations: store, revocationCacheMs: 2_000, now: () => now });
    const there = new SessionCookies({ secret: SECRET, revocations: store, revocationCacheMs: 2_000, now: () => now });
    const header = `session=${here.sign({ id: 'u1', name: 'Ana' }, 'the-session-id-00001')}`;
    assert.equal((await there.read(header))?.id, 'the-session-id-00001');
    const reads = store.reads;
    await Promise.all([there.read(header), there.read(header), there.read(header)]);
    assert.equal(store.reads, reads, 'answered from the cache');
    await here.revoke('the-session-id-00001');
    assert.deepEqual(await here.inspect(header), { state: 'ended', session: null });
    assert.equal(store.revoked.get('the-session-id-00001'), now + 180 * DAY, 'kept as long as a cookie of it could live');
    now += 1_999;
    assert.notEqual(await there.read(header), null, 'still trusted from the cache');
    now += 1;
    assert.deepEqual(await there.inspect(header), { state: 'ended', session: null });
    const { req, res } = request(header);
    assert.equal((await there.ensure(req, res, () => ({ id: 'u_new', name: 'Guest' }))).user.id, 'u_new', 'a page load gets a new session');
  });

  it('while the store cannot answer, lets in a session found valid lately and refuses any other', async () => {
    let now = 1_700_000_000_000;
    const store = new Revocations(() => now);
    const sessions = new SessionCookies({ secret: SECRET, revocations: store, revocationCacheMs: 2_000, now: () => now });
    const known = `session=${sessions.sign({ id: 'u1', name: 'Ana' }, 'the-session-id-00001')}`;
    const unknown = `session=${sessions.sign({ id: 'u2', name: 'Bo' }, 'the-session-id-00002')}`;
    assert.notEqual(await sessions.read(known), null);
    store.down = true;
    now += 60_000;
    assert.equal((await sessions.read(known))?.user.id, 'u1', 'a session seen a minute ago still gets in');
    await assert.rejects(sessions.read(unknown), /unreachable/, 'one never seen is not let in for want of an answer');
    now += 600_000;
    await assert.rejects(sessions.read(known), /unreachable/, 'nor one last seen over ten minutes ago');
  });

  it('cannot revoke without a revocation store', async () => {
    await assert.rejects(new SessionCookies({ secret: SECRET }).revoke('the-session-id-00001'), /no revocation store/);
  });
});

describe('sessionMiddleware', () => {
  class WhoAmI extends WebsocketConsumer {
    override async connect(): Promise<void> {
      await this.accept();
      this.send(JSON.stringify({ user: this.scope.user, session: this.scope.sessionId }));
    }
  }
  const store = new Revocations();
  const sessions = new SessionCookies({ secret: SECRET, revocations: store });
  let guests = 0;
  const app = sessionMiddleware(urlRouter([route('/ws/', WhoAmI)]), sessions, () => ({ id: `guest-${++guests}`, name: 'Guest' }));
  const layer = new InMemoryChannelLayer();

  async function connect(cookieHeader?: string): Promise<WebsocketCommunicator> {
    const client = new WebsocketCommunicator(app, '/ws/', { headers: cookieHeader ? { cookie: cookieHeader } : {}, layer });
    assert.deepEqual(await client.connect(), { accepted: true });
    return client;
  }
  const whoAmI = async (cookieHeader?: string) => (await connect(cookieHeader)).receiveJson<{ user: { id: string }; session: string | null }>();

  it('puts the session user into scope.user and its id into scope.sessionId', async () => {
    const value = sessions.sign({ id: 'u7', name: '花子' }, 'the-session-id-00007');
    assert.deepEqual(await whoAmI(`session=${value}`), { user: { id: 'u7', name: '花子' }, session: 'the-session-id-00007' });
  });

  it('gives a connection without a valid cookie, or with two, a guest of its own', async () => {
    const first = await whoAmI();
    const second = await whoAmI('session=forged.cookie');
    const planted = `session=${sessions.sign({ id: 'u_planted', name: 'Eve' })}; session=${sessions.sign({ id: 'u7', name: '花子' })}`;
    const third = await whoAmI(planted);
    for (const guest of [first, second, third]) {
      assert.match(guest.user.id, /^guest-\d+$/);
      assert.equal(guest.session, null);
    }
    assert.notEqual(first.user.id, second.user.id);
  });

  it('closes the open sockets of a session with 4401 when it is revoked, and accepts its cookie no more', async () => {
    const header = `session=${sessions.sign({ id: 'u8', name: 'Ana' }, 'the-session-id-00008')}`;
    const other = await connect(`session=${sessions.sign({ id: 'u9', name: 'Bo' })}`);
    const open = await connect(header);
    await open.receiveJson();
    await other.receiveJson();
    await sessions.revoke('the-session-id-00008', layer);
    assert.equal(await open.receiveClose(), 4401);
    assert.equal(await other.receiveNothing(), true, 'other sessions stay');
    const again = await connect(header);
    assert.equal(await again.receiveClose(), 4401, 'closed before any frame');
  });
});

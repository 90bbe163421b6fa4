import assert from 'node:assert/strict';
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { describe, it } from 'node:test';
import { WebsocketConsumer } from './consumer';
import { route, urlRouter } from './routing';
import { SessionCookies, sessionMiddleware } from './sessions';
import { WebsocketCommunicator } from './testing';

const SECRET = 'a-test-secret-that-is-long-enough-000';
const DAY = 86_400_000;

describe('SessionCookies', () => {
  it('reads back what it signed, Chinese names included', () => {
    const sessions = new SessionCookies({ secret: SECRET });
    const value = sessions.sign({ id: 'u1', name: '小明' });
    assert.deepEqual(sessions.read(value), { id: 'u1', name: '小明' });
  });

  it('rejects a forged, tampered, malformed or foreign-key cookie', () => {
    const sessions = new SessionCookies({ secret: SECRET });
    const value = sessions.sign({ id: 'u1', name: 'Ana' });
    const [body, mac] = value.split('.') as [string, string];
    const forgedBody = Buffer.from(JSON.stringify({ u: 'admin', n: 'Ana', t: Math.floor(Date.now() / 1000) })).toString('base64url');
    assert.equal(sessions.read(`${forgedBody}.${mac}`), null);
    assert.equal(sessions.read(`${body}.${mac.slice(0, -2)}xx`), null);
    assert.equal(sessions.read(body), null);
    assert.equal(sessions.read(''), null);
    assert.equal(sessions.read(undefined), null);
    assert.equal(new SessionCookies({ secret: `${SECRET}-other` }).read(value), null);
  });

  it('rejects an expired cookie and one issued in the future', () => {
    let now = 1_700_000_000_000;
    const sessions = new SessionCookies({ secret: SECRET, maxAgeMs: 10 * DAY, now: () => now });
    const value = sessions.sign({ id: 'u1', name: 'Ana' });
    now += 11 * DAY;
    assert.equal(sessions.read(value), null);
    now -= 12 * DAY;
    assert.equal(sessions.read(value), null);
  });

  it('refuses a short secret', () => {
    assert.throws(() => new SessionCookies({ secret: 'short' }), /at least 32 characters/);
  });

  it('issues an HttpOnly, SameSite=Lax cookie for the whole site', () => {
    const header = new SessionCookies({ secret: SECRET, secure: true }).setCookieHeader({ id: 'u1', name: 'Ana' });
    assert.match(header, /^session=[^;]+; Max-Age=\d+; Path=\/; HttpOnly; Secure; SameSite=Lax$/);
  });

  it('gives a request without a session a new one, visible to the same request', () => {
    const sessions = new SessionCookies({ secret: SECRET });
    const req = new IncomingMessage(new Socket());
    req.headers.cookie = 'theme=dark; session=forged.value';
    const res = new ServerResponse(req);
    const user = sessions.ensure(req, res, () => ({ id: 'new', name: 'Guest' }));
    assert.deepEqual(user, { id: 'new', name: 'Guest' });
    const setCookie = res.getHeader('set-cookie') as string[];
    assert.equal(setCookie.length, 1);
    assert.match(req.headers.cookie ?? '', /^theme=dark; session=[^;]+$/);
    assert.deepEqual(sessions.read(/session=([^;]+)/.exec(req.headers.cookie ?? '')?.[1]), user);
  });

  it('leaves a fresh session alone and renews one past half its age, keeping the user', () => {
    let now = 1_700_000_000_000;
    const sessions = new SessionCookies({ secret: SECRET, maxAgeMs: 10 * DAY, now: () => now });
    const req = new IncomingMessage(new Socket());
    req.headers.cookie = `session=${sessions.sign({ id: 'u1', name: 'Ana' })}`;
    const fresh = new ServerResponse(req);
    assert.deepEqual(sessions.ensure(req, fresh, () => assert.fail('no new user')), { id: 'u1', name: 'Ana' });
    assert.equal(fresh.getHeader('set-cookie'), undefined);
    now += 6 * DAY;
    const renewed = new ServerResponse(req);
    assert.deepEqual(sessions.ensure(req, renewed, () => assert.fail('no new user')), { id: 'u1', name: 'Ana' });
    assert.equal((renewed.getHeader('set-cookie') as string[]).length, 1);
  });
});

describe('sessionMiddleware', () => {
  class WhoAmI extends WebsocketConsumer {
    override async connect(): Promise<void> {
      await this.accept();
      this.send(JSON.stringify(this.scope.user));
    }
  }
  const sessions = new SessionCookies({ secret: SECRET });
  let guests = 0;
  const app = sessionMiddleware(urlRouter([route('/ws/', WhoAmI)]), sessions, () => ({ id: `guest-${++guests}`, name: 'Guest' }));

  async function whoAmI(cookie?: string): Promise<unknown> {
    const client = new WebsocketCommunicator(app, '/ws/', { headers: cookie ? { cookie } : {} });
    await client.connect();
    return client.receiveJson();
  }

  it('puts the session user into scope.user', async () => {
    assert.deepEqual(await whoAmI(`session=${sessions.sign({ id: 'u7', name: '花子' })}`), { id: 'u7', name: '花子' });
  });

  it('gives a connection without a valid cookie a guest of its own', async () => {
    const first = (await whoAmI()) as { id: string };
    const second = (await whoAmI('session=forged.cookie')) as { id: string };
    assert.match(first.id, /^guest-\d+$/);
    assert.notEqual(first.id, second.id);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { anyOf, authMiddleware, bearerToken, type TicketStore, WebsocketTickets, type UserResolver } from './auth';
import { CloseCode } from './close-codes';
import { WebsocketConsumer } from './consumer';
import { ConnectionRefused } from './errors';
import { InMemoryChannelLayer } from './layers/in-memory';
import { route, urlRouter } from './routing';
import type { Scope } from './scope';
import { WebsocketCommunicator } from './testing/communicator';

/** Sends who it is as its first frame. */
class WhoAmI extends WebsocketConsumer {
  override async connect(): Promise<void> {
    await this.accept();
    this.send(JSON.stringify({ user: this.scope.user, sessionId: this.scope.sessionId }));
  }
}

const tokens: Record<string, { id: string; name: string }> = { 'token-ana': { id: 'u_ana', name: 'Ana' } };
const byBearer: UserResolver = (scope) => {
  const token = bearerToken(scope);
  if (token === null) return null;
  const user = tokens[token];
  if (!user) throw new ConnectionRefused(CloseCode.AuthenticationRequired, 'bad token');
  return { user, sessionId: null };
};

function connect(app: ReturnType<typeof urlRouter>, path: string, headers: Record<string, string> = {}) {
  return new WebsocketCommunicator(app, path, { headers, layer: new InMemoryChannelLayer() });
}

describe('authMiddleware', () => {
  const tickets = new WebsocketTickets();
  const app = authMiddleware(urlRouter([route('/ws/me/', WhoAmI)]), anyOf(byBearer, tickets.resolver));

  it('leaves a connection nobody recognises anonymous, and tells it apart from a user', async () => {
    const anonymous = connect(app, '/ws/me/');
    assert.deepEqual(await anonymous.connect(), { accepted: true });
    assert.deepEqual(await anonymous.receiveJson(), { user: null, sessionId: null });
    const ana = connect(app, '/ws/me/', { authorization: 'Bearer token-ana' });
    assert.deepEqual(await ana.connect(), { accepted: true });
    assert.deepEqual(await ana.receiveJson(), { user: { id: 'u_ana', name: 'Ana' }, sessionId: null });
  });

  it('refuses what a resolver refuses with a close the browser reads, nothing sent before it', async () => {
    const forged = connect(app, '/ws/me/', { authorization: 'Bearer token-forged' });
    assert.deepEqual(await forged.connect(), { accepted: true });
    assert.equal(await forged.receiveClose(), CloseCode.AuthenticationRequired);
  });

  it('trades a ticket once, within its time, for whom it was issued to', async () => {
    const ticket = await tickets.issue({ user: { id: 'u_bo', name: 'Bo' }, sessionId: 's1' });
    const first = connect(app, `/ws/me/?ticket=${ticket}`);
    assert.deepEqual(await first.connect(), { accepted: true });
    assert.deepEqual(await first.receiveJson(), { user: { id: 'u_bo', name: 'Bo' }, sessionId: 's1' });
    const replayed = connect(app, `/ws/me/?ticket=${ticket}`);
    assert.deepEqual(await replayed.connect(), { accepted: true });
    assert.equal(await replayed.receiveClose(), CloseCode.AuthenticationRequired);
    const made = connect(app, `/ws/me/?ticket=${'A'.repeat(43)}`);
    await made.connect();
    assert.equal(await made.receiveClose(), CloseCode.AuthenticationRequired);
  });
});

describe('WebsocketTickets', () => {
  it('expires a ticket after its time, and forgets the oldest past its cap', async () => {
    let now = 0;
    const tickets = new WebsocketTickets({ ttlMs: 1_000, maxWaiting: 2, now: () => now });
    const someone = { user: { id: 'u', name: 'U' } };
    const late = await tickets.issue(someone);
    now = 1_000;
    assert.equal(await tickets.redeem(late), null);
    const [a, b, c] = [await tickets.issue(someone), await tickets.issue(someone), await tickets.issue(someone)];
    assert.equal(await tickets.redeem(a), null, 'the oldest was forgotten past the cap');
    assert.deepEqual(await tickets.redeem(b), someone);
    assert.deepEqual(await tickets.redeem(c), someone);
    assert.equal(await tickets.redeem(c), null, 'a ticket works once');
    assert.equal(await tickets.redeem('not a ticket'), null);
  });

  it('keeps in its store only hashes of tickets, so what the store holds redeems nothing', async () => {
    const kept = new Map<string, string>();
    const store: TicketStore = {
      put: async (key, value) => void kept.set(key, value),
      take: async (key) => {
        const value = kept.get(key) ?? null;
        kept.delete(key);
        return value;
      },
    };
    const tickets = new WebsocketTickets({ store });
    const ticket = await tickets.issue({ user: { id: 'u_ana', name: 'Ana' }, sessionId: 's1' });
    const [key] = [...kept.keys()];
    assert.notEqual(key, ticket);
    assert.equal(await tickets.redeem(key!.padEnd(43, 'A').slice(0, 43)), null);
    assert.deepEqual(await tickets.redeem(ticket), { user: { id: 'u_ana', name: 'Ana' }, sessionId: 's1' });
  });
});

describe('bearerToken', () => {
  it('reads a well-formed bearer token and nothing else', () => {
    const of = (authorization?: string) => bearerToken({ headers: authorization === undefined ? {} : { authorization } });
    assert.equal(of('Bearer abc.DEF-123_~+/=='), 'abc.DEF-123_~+/==');
    for (const bad of [undefined, 'Basic abc', 'Bearer', 'Bearer a b', `Bearer ${'a'.repeat(5_000)}`]) assert.equal(of(bad), null, String(bad).slice(0, 20));
  });
});

describe('authorization', () => {
  type Room = { readonly room: string };
  const members: Record<string, readonly string[]> = { secret: ['u_ana'] };
  const isMember = (scope: Scope<Room>): boolean => scope.user !== null && (members[scope.params.room] ?? []).includes(scope.user.id);
  const signedIn: UserResolver = (scope) => (scope.query.get('as') ? { user: { id: scope.query.get('as')!, name: 'X' } } : null);

  it("checks a route's authorize on every connection: sign in for the anonymous, not allowed for others", async () => {
    const app = authMiddleware(urlRouter([route('/ws/rooms/:room/', WhoAmI, { authorize: isMember })]), signedIn);
    const anonymous = connect(app, '/ws/rooms/secret/');
    assert.deepEqual(await anonymous.connect(), { accepted: true });
    assert.equal(await anonymous.receiveClose(), CloseCode.AuthenticationRequired);
    const stranger = connect(app, '/ws/rooms/secret/?as=u_bo');
    await stranger.connect();
    assert.equal(await stranger.receiveClose(), CloseCode.Forbidden);
    const member = connect(app, '/ws/rooms/secret/?as=u_ana');
    await member.connect();
    assert.equal((await member.receiveJson<{ user: { id: string } }>()).user.id, 'u_ana');
  });

  it('lets authorize choose the code: a private room can look like none', async () => {
    const hidden = (scope: Scope<Room>): boolean => {
      if (!isMember(scope)) throw new ConnectionRefused(CloseCode.NotFound, 'no such room');
      return true;
    };
    const app = authMiddleware(urlRouter([route('/ws/rooms/:room/', WhoAmI, { authorize: hidden })]), signedIn);
    const stranger = connect(app, '/ws/rooms/secret/?as=u_bo');
    await stranger.connect();
    assert.equal(await stranger.receiveClose(), CloseCode.NotFound);
  });

  it("asks authorizeGroup before joining the consumer's groups and any later one", async () => {
    const joined: string[] = [];
    class Rooms extends WebsocketConsumer<Room> {
      override readonly groups = [`room.${this.scope.params.room}`];
      override authorizeGroup(group: string): boolean {
        return group !== 'room.secret' || this.scope.user?.id === 'u_ana';
      }
      override async receive(text: string): Promise<void> {
        await this.groupAdd(`room.${text}`);
        joined.push(text);
        this.send(`joined ${text}`);
      }
    }
    const app = authMiddleware(urlRouter([route('/ws/rooms/:room/', Rooms)]), signedIn);
    const refused = connect(app, '/ws/rooms/secret/?as=u_bo');
    assert.deepEqual(await refused.connect(), { accepted: true });
    assert.equal(await refused.receiveClose(), CloseCode.Forbidden);

    const bo = connect(app, '/ws/rooms/lobby/?as=u_bo');
    await bo.connect();
    bo.sendText('garden');
    assert.equal(await bo.receiveText(), 'joined garden');
    bo.sendText('secret');
    assert.equal(await bo.receiveClose(), CloseCode.Forbidden);
    assert.deepEqual(joined, ['garden']);
  });

  it('closes with the code of a ConnectionRefused a hook throws, and logs no error', async () => {
    class Gone extends WebsocketConsumer {
      override connect(): void {
        throw new ConnectionRefused(CloseCode.Gone, 'this poll has ended');
      }
    }
    const errors: string[] = [];
    const logger = { debug() {}, info() {}, warn() {}, error: (message: string) => errors.push(message) };
    const client = new WebsocketCommunicator(urlRouter([route('/ws/', Gone)]), '/ws/', { logger });
    assert.deepEqual(await client.connect(), { accepted: true });
    assert.equal(await client.receiveClose(), CloseCode.Gone);
    assert.deepEqual(errors, []);
  });
});

/**
 * Two production processes with one Redis and one PostgreSQL, tried with the framework-free
 * ChatClient: one conversation across them, a Redis outage under traffic, a PostgreSQL outage.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import WebSocket from 'ws';
import type { WebSocketLike } from 'next-channels/client';
import { ChatClient, type ChatSnapshot } from '../lib/client';
import type { AppServer } from './support/app-server';
import { untilSnapshot as until } from './support/chat-until';
import { type Cluster, startCluster } from './support/cluster';
import { TestSocket } from './support/ws-client';

/** Every client a test made: closed after the tests, even when one failed (an open one keeps the run alive). */
const opened = new Set<ChatClient>();

function client(server: AppServer, room: string, cookie?: string): ChatClient {
  const chat = new ChatClient({
    room,
    url: `${server.ws}/ws/chat/${room}/`,
    createSocket: (url) => new WebSocket(url, { headers: { origin: server.origin, ...(cookie === undefined ? {} : { cookie }) } }) as unknown as WebSocketLike,
    backoff: () => 100,
  });
  chat.connect();
  opened.add(chat);
  return chat;
}

const texts = (snapshot: ChatSnapshot): string[] => snapshot.messages.map((message) => message.message);

/** How long Redis stays down, with messages going out all along, once both servers noticed. */
const OUTAGE_MS = 2_500;

function within<T>(ms: number, promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

describe('two processes, one Redis, one PostgreSQL', () => {
  let cluster: Cluster;
  before(async () => {
    cluster = await startCluster(2, { RATE_LIMIT: 'off' });
  });
  after(async () => {
    for (const chat of opened) chat.close();
    await cluster?.dispose();
  });

  it('carries one conversation across both processes, in one order, with everyone present', async () => {
    const [a, b] = cluster.servers;
    const onA = client(a!, 'across');
    const onB = client(b!, 'across');
    await until(onA, (s) => s.presence.length === 2, 'A sees both people');
    await until(onB, (s) => s.presence.length === 2, 'B sees both people');
    onA.send('from A 你好');
    onB.send('from B');
    const [seenA, seenB] = await Promise.all([
      until(onA, (s) => s.messages.length === 2 && s.outbox.length === 0, 'A has both'),
      until(onB, (s) => s.messages.length === 2 && s.outbox.length === 0, 'B has both'),
    ]);
    assert.deepEqual(texts(seenA), texts(seenB));
    assert.deepEqual(seenA.messages.map((m) => m.id), ['1', '2']);
    onA.close();
    onB.close();
  });

  it('carries edits, deletions, reactions, replies and read markers across processes, to a client that was away too', async () => {
    const [a, b] = cluster.servers;
    const room = 'events-across';
    const cookie = ((await fetch(`${a!.http}/`)).headers.get('set-cookie') ?? '').split(';')[0]!;
    // One person with a tab on each process; someone else writes on B.
    const tabA = client(a!, room, cookie);
    const tabB = client(b!, room, cookie);
    const writer = client(b!, room);
    await until(writer, (s) => s.presence.length === 2, 'the writer sees both people');
    writer.send('原文 original');
    writer.send('要删的话 doomed');
    await until(tabB, (s) => s.messages.length === 2, 'B has both messages');
    const [first, second] = (await until(tabA, (s) => s.messages.length === 2, 'A has both messages')).messages;

    tabB.close();
    assert.equal(writer.edit(first!.id, '改过的 edited'), true);
    assert.equal(writer.remove(second!.id), true);
    assert.equal(tabA.react(first!.id, '👍'), true);
    writer.send('回复 reply', { replyTo: first!.id });
    const shown = await until(tabA, (s) => s.messages.length === 3 && s.messages[0]!.reactions?.[0]?.count === 1 && s.messages[1]!.deleted === true, 'A shows every change');
    assert.equal(shown.messages[0]!.message, '改过的 edited');

    // B comes back: it resumes after what it had, and shows the final state, never the old text.
    tabB.connect();
    const back = await until(tabB, (s) => s.status === 'open' && s.messages.length === 3 && s.messages[0]!.reactions?.[0]?.count === 1, 'B shows the final state');
    assert.deepEqual(
      back.messages.map((m) => [m.message, m.deleted ?? false, m.edited_at !== undefined, m.reply_to?.id ?? null]),
      [
        ['改过的 edited', false, true, null],
        ['', true, false, null],
        ['回复 reply', false, false, first!.id],
      ],
    );
    assert.equal(JSON.stringify(back).includes('doomed'), false);
    assert.equal(JSON.stringify(back).includes('original'), false);

    // What the tab on A reads, the tab on B hears of; the writer, in a public room, does not.
    const newest = back.messages.at(-1)!.id;
    const head = (await until(tabA, (s) => s.messages.length === 3, 'A has the reply')).messages.at(-1)!.id;
    assert.equal(head, newest);
    tabA.markRead(newest);
    await until(tabB, (s) => [...s.readMarkers.values()].includes(newest), "B follows A's read marker");
    assert.equal(writer.getSnapshot().readMarkers.size, 0);

    // Search, on B, finds the new text and neither the old nor the deleted.
    const search = async (q: string) =>
      ((await (await fetch(`${b!.http}/api/search?q=${encodeURIComponent(q)}`, { headers: { cookie } })).json()) as { results: Array<{ id: string }> }).results.map((r) => r.id);
    assert.deepEqual(await search('改过'), [first!.id]);
    assert.deepEqual(await search('原文'), []);
    assert.deepEqual(await search('要删'), []);
    for (const chat of [tabA, tabB, writer]) chat.close();
  });

  it("closes a signed-out session's sockets in every process, and every process refuses its cookie soon after", async () => {
    const [a, b] = cluster.servers;
    const cookie = ((await fetch(`${a!.http}/`)).headers.get('set-cookie') ?? '').split(';')[0]!;
    const onB = await TestSocket.open(`${b!.ws}/ws/chat/signout/`, { origin: b!.origin, cookie });
    await onB.find((frame) => frame.type === 'welcome');
    const signedOut = Date.now();
    assert.equal((await fetch(`${a!.http}/api/session`, { method: 'DELETE', headers: { cookie, origin: a!.origin } })).status, 204);
    assert.equal(await within(10_000, onB.closed, 'the socket on B closes'), 4401);
    // B may trust its own "not revoked" answer for 2 s (the revocation cache); then it asks PostgreSQL.
    let status = 200;
    while (status !== 401 && Date.now() - signedOut < 10_000) status = (await fetch(`${b!.http}/api/session`, { headers: { cookie } })).status;
    assert.equal(status, 401);
    assert.ok(Date.now() - signedOut < 5_000, `refused by B ${Date.now() - signedOut} ms after the sign-out`);
  });

  it('shares accounts and private rooms across processes, and a removal closes the removed socket on the other process at once', async () => {
    const [a, b] = cluster.servers;
    /** Signs a new person up on `server` from a fresh guest page load: their cookie and user id. */
    const signUp = async (server: AppServer, username: string): Promise<{ cookie: string; userId: string }> => {
      const guest = ((await fetch(`${server.http}/`)).headers.get('set-cookie') ?? '').split(';')[0]!;
      const response = await fetch(`${server.http}/api/accounts`, {
        method: 'POST',
        headers: { cookie: guest, origin: server.origin, 'content-type': 'application/json' },
        body: JSON.stringify({ username, password: 'correct horse 马' }),
      });
      assert.equal(response.status, 201, await response.clone().text());
      return { cookie: (response.headers.get('set-cookie') ?? '').split(';')[0]!, userId: ((await response.json()) as { user_id: string }).user_id };
    };
    const call = (server: AppServer, method: string, path: string, cookie: string, body?: unknown) =>
      fetch(`${server.http}${path}`, {
        method,
        headers: { cookie, origin: server.origin, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    const owner = await signUp(a!, `owner${Date.now() % 100_000}`);
    const member = await signUp(b!, `member${Date.now() % 100_000}`);
    const memberName = ((await (await call(b!, 'GET', '/api/session', member.cookie)).json()) as { account: { username: string } }).account.username;
    // The room is made on A; B signs in the member, who is added on A and opens the room on B.
    const { room } = (await (await call(a!, 'POST', '/api/rooms', owner.cookie, { title: '跨进程' })).json()) as { room: string };
    const stranger = await TestSocket.open(`${b!.ws}/ws/chat/${room}/`, { origin: b!.origin, cookie: member.cookie });
    assert.equal(await within(10_000, stranger.closed, 'a non-member is refused on B'), 4404);
    assert.equal((await call(a!, 'POST', `/api/rooms/${room}/members`, owner.cookie, { username: memberName })).status, 201);
    const onB = await TestSocket.open(`${b!.ws}/ws/chat/${room}/`, { origin: b!.origin, cookie: member.cookie });
    await onB.find((frame) => frame.type === 'presence');
    const removed = Date.now();
    assert.equal((await call(a!, 'DELETE', `/api/rooms/${room}/members/${member.userId}`, owner.cookie)).status, 204);
    assert.equal(await within(5_000, onB.closed, 'the removed socket on B closes'), 4403);
    const again = await TestSocket.open(`${b!.ws}/ws/chat/${room}/?after=0`, { origin: b!.origin, cookie: member.cookie });
    assert.equal(await within(10_000, again.closed, 'the removed member is refused on B'), 4404);
    assert.ok(Date.now() - removed < 5_000);
  });

  it('fills every open connection from the store after a Redis outage of a few seconds under traffic', async () => {
    const [a, b] = cluster.servers;
    const clients = [client(a!, 'blip'), client(a!, 'blip'), client(b!, 'blip'), client(b!, 'blip')];
    await Promise.all(clients.map((chat) => until(chat, (s) => s.status === 'open', 'open')));
    const closes: string[] = [];
    for (const chat of clients) chat.subscribe(() => chat.getSnapshot().status !== 'open' && closes.push(chat.getSnapshot().status));
    let sent = 0;
    const send = (): void => {
      const sender = clients[sent % clients.length]!;
      sender.send(`m${++sent}`);
    };
    for (let n = 0; n < 20; n++) send();
    await cluster.redis.stop();
    // An outage, not a blip: both processes have seen Redis go, and traffic goes on for a while
    // before it comes back.
    await Promise.all(
      cluster.servers.map((server) => within(10_000, server.waitForOutput(/"msg":"redis unreachable"/), 'the server notices Redis is gone')),
    );
    const outageEndsAt = Date.now() + OUTAGE_MS;
    const sentBeforeOutage = sent;
    while (Date.now() < outageEndsAt) {
      send();
      await delay(100);
    }
    assert.ok(sent - sentBeforeOutage >= 10, `${sent - sentBeforeOutage} messages sent while Redis was down`);
    await cluster.redis.start();
    for (let n = 0; n < 20; n++) send();
    const expected = Array.from({ length: sent }, (_, n) => `m${n + 1}`).sort();
    for (const chat of clients) {
      const done = await until(chat, (s) => s.messages.length === sent && s.outbox.length === 0, 'every message everywhere');
      assert.deepEqual([...texts(done)].sort(), expected);
      assert.deepEqual(
        done.messages.map((m) => m.id),
        Array.from({ length: sent }, (_, n) => String(n + 1)),
      );
    }
    assert.deepEqual(closes, [], 'no socket closed: the gaps were filled on open connections');
    // The store fills the gaps; the layer's recovery is logged on its own schedule, soon after.
    await Promise.all(
      cluster.servers.map((server) => within(10_000, server.waitForOutput(/"msg":"redis reachable again"/), 'the server logs that Redis is back')),
    );
    for (const chat of clients) chat.close();
  });

  it('refuses sends as unavailable while PostgreSQL is down, and delivers them once it is back', async () => {
    const [a, b] = cluster.servers;
    const writer = client(a!, 'db-outage');
    const reader = client(b!, 'db-outage');
    await until(writer, (s) => s.status === 'open', 'writer open');
    await until(reader, (s) => s.status === 'open', 'reader open');
    await cluster.postgres.stop();
    const notReady = await fetch(`${a!.http}/readyz`);
    const body = (await notReady.json()) as Record<string, string>;
    assert.equal(notReady.status, 503);
    assert.deepEqual([body.status, body.layer], ['unavailable', 'ok']);
    assert.notEqual(body.store, 'ok');
    const refused = new Promise<void>((resolve) => {
      // The server answers the send with `unavailable`: the outbox keeps it, queued for a retry.
      const stop = writer.subscribe(() => {
        if (writer.getSnapshot().outbox[0]?.state === 'queued') {
          stop();
          resolve();
        }
      });
    });
    writer.send('sent while the database is down');
    await refused;
    assert.equal(reader.getSnapshot().messages.length, 0, 'nothing was acknowledged or broadcast');
    await cluster.postgres.start();
    // Ready again within seconds of the heal (the store asks PostgreSQL every second meanwhile).
    const healedAt = Date.now();
    while ((await fetch(`${a!.http}/readyz`)).status !== 200) assert.ok(Date.now() - healedAt < 5_000, 'ready again within 5 s');
    const seen = await until(reader, (s) => s.messages.length === 1, 'delivered after the outage');
    assert.equal(seen.messages[0]?.message, 'sent while the database is down');
    await until(writer, (s) => s.outbox.length === 0 && s.messages.length === 1, 'acknowledged once');
    writer.close();
    reader.close();
  });
});

/**
 * The limits of the SPEC's table that need real frames and real timing, on the chat application
 * over a real socket server with test-sized timers.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, describe, it } from 'node:test';
import WebSocket from 'ws';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SessionCookies } from 'next-channels';
import { type ChatServer, type ChatServerOptions, startChatServer, TEST_SESSION_SECRET } from '../testing/chat-server';
import { ChatQuotas } from './quotas';
import { MemoryMessageStore } from './store/memory';
import { SqliteMessageStore } from './store/sqlite';
import type { MessagePage } from './store/types';

const servers: ChatServer[] = [];
const sockets: WebSocket[] = [];
const folders: string[] = [];
after(async () => {
  for (const socket of sockets) socket.terminate();
  await Promise.all(servers.map((server) => server.close()));
  await Promise.all(folders.map((folder) => rm(folder, { recursive: true, force: true })));
});

const DEFAULT_LIMIT = { rate: 20, perMs: 10_000, burst: 10 };
/** The default quotas with time standing still, so nothing refills while a test floods. */
const stillQuotas = (options: Partial<ConstructorParameters<typeof ChatQuotas>[0]> = {}) => new ChatQuotas({ messages: DEFAULT_LIMIT, now: () => 0, ...options });

async function server(options: ChatServerOptions = {}): Promise<ChatServer> {
  const started = await startChatServer(options);
  servers.push(started);
  return started;
}

/** A raw client that collects frames and can wait for one by predicate. */
async function join(chat: ChatServer, room: string, options: WebSocket.ClientOptions = {}) {
  const ws = new WebSocket(`${chat.url}/ws/chat/${room.includes('?') ? room : `${room}/`}`, { ...options, headers: { origin: chat.origin, ...options.headers } });
  sockets.push(ws);
  const frames: Array<Record<string, unknown>> = [];
  let wake: (() => void) | null = null;
  let closedWith: number | null = null;
  ws.on('message', (data: Buffer) => {
    frames.push(JSON.parse(data.toString()) as Record<string, unknown>);
    wake?.();
  });
  const closed = new Promise<number>((resolve) =>
    ws.once('close', (code: number) => {
      closedWith = code;
      wake?.();
      resolve(code);
    }),
  );
  await once(ws, 'open');
  // A frame that can no longer come fails the test at once, with the close code, rather than
  // leaving it waiting for ever.
  const find = async (match: (frame: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> => {
    for (;;) {
      const found = frames.find(match);
      if (found) return found;
      if (closedWith !== null) throw new Error(`the socket closed (${closedWith}) before the frame came; it had ${frames.length} frames`);
      await new Promise<void>((resolve) => (wake = resolve));
    }
  };
  await find((frame) => frame.type === 'presence');
  return { ws, frames, closed, find, send: (value: unknown) => ws.send(typeof value === 'string' ? value : JSON.stringify(value)) };
}

describe('limits through a real socket', () => {
  it('answers each bad frame with its error code and stays open', async () => {
    const chat = await server();
    const client = await join(chat, 'errors');
    const cases: Array<[string, string]> = [
      ['not json', 'bad_json'],
      ['"a string"', 'invalid_message'],
      ['{"message":""}', 'invalid_message'],
      ['{"type":"delete"}', 'unknown_type'],
      [JSON.stringify({ message: '长'.repeat(2001) }), 'too_long'],
    ];
    for (const [text, code] of cases) {
      const before = client.frames.length;
      client.send(text);
      const error = await client.find((frame) => client.frames.indexOf(frame) >= before && frame.type === 'error');
      assert.equal(error.code, code, text);
    }
    assert.equal(client.ws.readyState, WebSocket.OPEN);
  });

  it('refuses messages over the rate limit, then closes a client that keeps on with 1008', async () => {
    const chat = await server({ rateLimit: { rate: 2, perMs: 60_000, burst: 2 } });
    const client = await join(chat, 'flood');
    for (let n = 0; n < 3; n++) client.send({ type: 'chat.message', message: `m${n}`, client_id: `c${n}` });
    assert.equal((await client.find((frame) => frame.type === 'error')).code, 'rate_limited');
    for (let n = 0; n < 200 && client.ws.readyState === WebSocket.OPEN; n++) client.send({ message: 'more' });
    assert.equal(await client.closed, 1008);
  });

  it('terminates a peer that stops answering pings, and it leaves presence', async () => {
    const chat = await server({ pingIntervalMs: 30 });
    const watcher = await join(chat, 'dead');
    const dead = await join(chat, 'dead', { autoPong: false });
    await watcher.find((frame) => frame.type === 'presence' && (frame.users as unknown[]).length === 2);
    assert.equal(await dead.closed, 1006);
    await watcher.find((frame) => frame.type === 'presence' && (frame.users as unknown[]).length === 1);
  });

  it('closes a reader that stopped reading (1013), while every other reader gets every message', { timeout: 60_000 }, async () => {
    const chat = await server({ maxBufferedBytes: 256 * 1024, closeTimeoutMs: 100 });
    const readers = await Promise.all([1, 2, 3].map(() => join(chat, 'stall')));
    const stalled = await join(chat, 'stall');
    const stalledSocket = (stalled.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    stalledSocket.pause();
    const stalledGone = new Promise<void>((resolve) => stalled.ws.once('close', () => resolve()));
    // Far more than the kernel's socket buffers hold (about 18 MB), sent by a writer that keeps
    // at most 50 messages in flight, as a person typing fast would: it reads its echoes.
    const writer = readers[0]!;
    const count = 3000;
    const text = '字'.repeat(1990);
    const echoes = () => writer.frames.filter((frame) => frame.type === 'chat.message').length;
    for (let n = 0; n < count; n++) {
      while (n - echoes() >= 50) await writer.find((frame) => frame.type === 'chat.message' && frame.client_id === `w${n - 50}`);
      writer.send({ type: 'chat.message', message: `${n} ${text}`, client_id: `w${n}` });
    }
    for (const reader of readers) {
      await reader.find((frame) => frame.type === 'chat.message' && frame.client_id === `w${count - 1}`);
      assert.equal(reader.frames.filter((frame) => frame.type === 'chat.message').length, count);
      assert.equal(reader.ws.readyState, WebSocket.OPEN);
    }
    // Let the stalled client read what reached it: the server had cut it off long before the end.
    stalledSocket.resume();
    await stalledGone;
    assert.ok(stalled.frames.filter((frame) => frame.type === 'chat.message').length < count);
    const closes = await chat.metrics.registry.getSingleMetricAsString('channels_closes_total');
    assert.match(closes, /channels_closes_total\{code="1013"\} 1$/m);
  });

  it('closes a connection whose consumer fell too far behind its channel (1013); the client catches up on return', { timeout: 10_000 }, async () => {
    // The store is slow while the laggard joins: live messages pile up in its channel meanwhile.
    let release: () => void = () => {};
    let gate: Promise<void> | null = null;
    class SlowStore extends MemoryMessageStore {
      override async latest(room: string, limit: number): Promise<MessagePage> {
        await gate;
        return super.latest(room, limit);
      }
    }
    const capacity = 5;
    const chat = await server({ store: new SlowStore(), layerCapacity: capacity });
    const writer = await join(chat, 'behind');
    gate = new Promise<void>((resolve) => (release = resolve));
    const laggard = new WebSocket(`${chat.url}/ws/chat/behind/`, { headers: { origin: chat.origin } });
    sockets.push(laggard);
    const laggardClosed = new Promise<number>((resolve) => laggard.once('close', (code: number) => resolve(code)));
    const [welcome] = (await once(laggard, 'message')) as [Buffer];
    assert.equal((JSON.parse(welcome.toString()) as { type: string }).type, 'welcome');
    const count = capacity + 1;
    for (let n = 0; n < count; n++) {
      writer.send({ type: 'chat.message', message: `m${n}`, client_id: `b${n}` });
      await writer.find((frame) => frame.type === 'chat.message' && frame.client_id === `b${n}`);
    }
    assert.equal(await laggardClosed, 1013);
    release();
    gate = null;
    const back = await join(chat, 'behind');
    const history = await back.find((frame) => frame.type === 'history');
    assert.deepEqual(
      (history.messages as Array<{ message: string }>).map((message) => message.message),
      Array.from({ length: count }, (_, n) => `m${n}`),
    );
    assert.equal(writer.ws.readyState, WebSocket.OPEN, 'the writer was not slowed or closed');
  });

  it('closes a client that sends binary (1003), invalid UTF-8 (1007) or an oversized frame (1009)', async () => {
    const chat = await server({ maxPayloadBytes: 4096 });
    const binary = await join(chat, 'frames');
    binary.ws.send(Buffer.from([1, 2, 3]));
    assert.equal(await binary.closed, 1003);
    const utf8 = await join(chat, 'frames');
    utf8.ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false });
    assert.equal(await utf8.closed, 1007);
    const big = await join(chat, 'frames');
    big.send('x'.repeat(4097));
    assert.equal(await big.closed, 1009);
  });

  it('gives a forged or expired session cookie a guest identity, never the named user', async () => {
    const chat = await server();
    const genuine = chat.sessions.sign({ id: 'u_admin', name: 'Admin' });
    const forged = `${genuine.split('.')[0]}.${'A'.repeat(43)}`;
    const yearAgo = Date.now() - 365 * 86_400_000;
    const expired = new SessionCookies({ secret: TEST_SESSION_SECRET, now: () => yearAgo }).sign({ id: 'u_admin', name: 'Admin' });
    for (const cookie of [forged, expired]) {
      const client = await join(chat, 'cookies', { headers: { cookie: `session=${cookie}` } });
      const welcome = await client.find((frame) => frame.type === 'welcome');
      assert.notEqual(welcome.user_id, 'u_admin');
    }
    const real = await join(chat, 'cookies', { headers: { cookie: `session=${genuine}` } });
    assert.equal((await real.find((frame) => frame.type === 'welcome')).user_id, 'u_admin');
  });
});

/** Waits until `count` frames matching `match` have arrived on every one of `clients`. */
async function answers(clients: ReadonlyArray<Awaited<ReturnType<typeof join>>>, count: number, match: (frame: Record<string, unknown>) => boolean) {
  for (const client of clients) {
    let seen = 0;
    await client.find(() => (seen = client.frames.filter(match).length) >= count);
    assert.ok(seen >= count);
  }
}

describe('quotas that one person cannot multiply', () => {
  it("holds 40 connections from one address to the address's share of messages, not 40 shares", async () => {
    const chat = await server({ quotas: stillQuotas() });
    const clients = await Promise.all(Array.from({ length: 40 }, () => join(chat, 'crowd')));
    clients.forEach((client, n) => {
      for (let m = 0; m < 10; m++) client.send({ type: 'chat.message', message: `${n}.${m}`, client_id: `c${n}-${m}` });
    });
    // Every message is answered: by its echo when stored, by rate_limited when refused.
    for (const [n, client] of clients.entries()) {
      const own = (frame: Record<string, unknown>) => frame.type === 'error' || (frame.type === 'chat.message' && String(frame.client_id).startsWith(`c${n}-`));
      await answers([client], 10, own);
    }
    const stored = (await chat.store.latest('crowd', 1_000)).messages.length;
    // One burst of ten for the address, however many connections and guests it opens.
    assert.equal(stored, 10, `${stored} messages stored from one address`);
    const refused = clients.flatMap((client) => client.frames.filter((frame) => frame.type === 'error'));
    assert.equal(refused.length, 400 - 10);
    assert.ok(refused.every((frame) => frame.code === 'rate_limited' && /network address/.test(String(frame.detail))));
  });

  it("holds one person's tabs to one person's share, and counts bytes beside messages", async () => {
    const chat = await server({ quotas: stillQuotas() });
    const cookie = `session=${chat.sessions.sign({ id: 'u_tabs', name: 'Tabs' })}`;
    const tabs = await Promise.all([1, 2, 3].map(() => join(chat, 'tabs', { headers: { cookie } })));
    tabs.forEach((tab, n) => {
      for (let m = 0; m < 10; m++) tab.send({ type: 'chat.message', message: `${n}.${m}`, client_id: `t${n}-${m}` });
    });
    await answers(tabs, 10, (frame) => frame.type === 'error' || (frame.type === 'chat.message' && frame.user_id === 'u_tabs'));
    assert.equal((await chat.store.latest('tabs', 100)).messages.length, 10, 'one burst across three tabs');

    // A long message costs more of the byte quota than a short one: ten of 2,000 emoji are not ten messages' worth.
    const other = await server({ quotas: stillQuotas() });
    const emoji = await join(other, 'bytes', { headers: { cookie: `session=${other.sessions.sign({ id: 'u_emoji', name: 'Emoji' })}` } });
    for (let m = 0; m < 10; m++) emoji.send({ type: 'chat.message', message: '😀'.repeat(2_000), client_id: `e${m}` });
    await answers([emoji], 10, (frame) => frame.type === 'error' || (frame.type === 'chat.message' && frame.user_id === 'u_emoji'));
    const stored = (await other.store.latest('bytes', 100)).messages.length;
    assert.equal(stored, 2, `${stored} messages of 8,000 bytes against a burst of 20 KiB`);
  });

  it("refuses frames over the address's frame budget before parsing them", async () => {
    const chat = await server({ quotas: stillQuotas() });
    const clients = await Promise.all(Array.from({ length: 40 }, () => join(chat, 'nested')));
    // 60 KiB of nested arrays: valid JSON, slow to parse, and not a frame (invalid_message once parsed).
    const depth = 30 * 1024;
    const nested = '['.repeat(depth) + ']'.repeat(depth);
    for (const client of clients) for (let n = 0; n < 50; n++) client.send(nested);
    await answers(clients, 50, (frame) => frame.type === 'error');
    const codes = clients.flatMap((client) => client.frames.filter((frame) => frame.type === 'error').map((frame) => frame.code));
    const parsed = codes.filter((code) => code === 'invalid_message').length;
    // The address's frame bytes (25 connections' worth of 80 KiB bursts) let about 33 through, not 40 x 50.
    assert.equal(parsed, Math.floor((10 * 8_192 * 25) / (2 * depth)), `${parsed} frames of 60 KiB parsed`);
    assert.equal(codes.length - parsed, codes.filter((code) => code === 'rate_limited').length);
  });
});

describe('history costs a budget, and reads are paced', () => {
  it("serves an address only its budget of history, and answers a bystander's ping while it does", { timeout: 60_000 }, async (t) => {
    const folder = await mkdtemp(path.join(tmpdir(), 'chat-limits-'));
    folders.push(folder);
    const store = new SqliteMessageStore(path.join(folder, 'chat.db'));
    // Closed before its folder goes: its checkpoint worker and files with it.
    t.after(() => store.close());
    for (let n = 0; n < 300; n++) await store.append({ room: 'archive', userId: 'u_old', user: 'Old', text: `${n} ${'旧'.repeat(200)}` });
    // An address may read 40 pages of 100 at once; each connection 3.
    const quotas = stillQuotas({ addressHistoryRows: { rate: 4_000, perMs: 60_000, burst: 4_000 } });
    const chat = await server({ store, quotas });
    const attackers = await Promise.all(Array.from({ length: 20 }, () => join(chat, 'archive')));
    const bystander = await join(chat, 'elsewhere');
    const pages = () => attackers.reduce((sum, client) => sum + client.frames.filter((frame) => frame.type === 'history').length - 1, 0);
    for (const client of attackers) for (let n = 0; n < 20; n++) client.send({ type: 'history', limit: 100 });
    bystander.send({ type: 'ping' });
    await bystander.find((frame) => frame.type === 'pong');
    const pagesAtPong = pages();
    await answers(attackers, 20, (frame) => frame.type === 'error' || frame.type === 'history');
    const served = pages();
    assert.equal(served, 40, 'the address got its 40 pages');
    assert.ok(pagesAtPong < served, `the ping was answered after all ${served} pages`);
    const refused = attackers.flatMap((client) => client.frames.filter((frame) => frame.type === 'error'));
    assert.equal(refused.length, 20 * 20 - 40);
    assert.ok(refused.every((frame) => frame.code === 'rate_limited'));
  });

  it('resumes a client that missed more than its send buffer holds, page by page as it reads', { timeout: 30_000 }, async () => {
    const chat = await server({ rateLimit: DEFAULT_LIMIT, maxBufferedBytes: 64 * 1024 });
    for (let n = 1; n <= 1_000; n++) await chat.store.append({ room: 'long', userId: 'u_w', user: 'W', text: `${n} ${'字'.repeat(100)}` });
    const client = await join(chat, 'long/?after=1');
    const ids = client.frames.filter((frame) => frame.type === 'history').flatMap((frame) => (frame.messages as Array<{ id: string }>).map((message) => Number(message.id)));
    assert.equal(ids.length, 999);
    assert.deepEqual(ids, Array.from({ length: 999 }, (_, n) => n + 2));
    assert.equal(client.ws.readyState, WebSocket.OPEN);
  });
});

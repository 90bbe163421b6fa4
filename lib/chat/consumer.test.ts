import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  AllowedOrigins,
  CloseCode,
  InMemoryChannelLayer,
  InMemoryPresence,
  SessionCookies,
  silentLogger,
  type RateLimit,
} from 'next-channels';
import { WebsocketCommunicator } from 'next-channels/testing';
import { ChatService, HISTORY_FRAME_MAX_BYTES, messageFrame, roomGroup } from './chat-service';
import { ChatQuotas } from './quotas';
import { RoomHeads } from './room-heads';
import type { ChatMessageFrame, DeleteFrame, EditFrame, ErrorFrame, HistoryFrame, PresenceFrame, ReactionFrame, WelcomeFrame } from './protocol';
import { chatApplication } from './routing';
import { MemoryMessageStore } from './store/memory';
import type { HeadListener, MessageStore } from './store/types';

const ORIGIN = 'http://localhost:3000';
const SECRET = 'chat-consumer-test-secret-0123456789';

interface Options {
  rateLimit?: RateLimit | null;
  store?: MessageStore;
  now?: () => number;
  heads?: RoomHeads;
  editWindowMs?: number;
}

/**
 * A test client of one room. Presence frames come whenever anyone joins or leaves, so the
 * receive methods set them aside in `presence` and return the next frame of any other type.
 */
class RoomClient {
  readonly presence: PresenceFrame[] = [];
  /** Frames read while looking for a presence frame, served first. */
  readonly #held: string[] = [];
  constructor(readonly raw: WebsocketCommunicator) {}

  sendJson(value: unknown): void {
    this.raw.sendJson(value);
  }
  sendText(text: string): void {
    this.raw.sendText(text);
  }
  sendBinary(data: Buffer): void {
    this.raw.sendBinary(data);
  }
  async receiveText(): Promise<string> {
    const held = this.#held.shift();
    if (held !== undefined) return held;
    for (;;) {
      const text = await this.raw.receiveText();
      if (!this.#isPresence(text)) return text;
    }
  }
  async receiveJson<T = unknown>(): Promise<T> {
    return JSON.parse(await this.receiveText()) as T;
  }
  /** The next presence frame, holding back the other frames met on the way. */
  async nextPresence(): Promise<PresenceFrame> {
    const seen = this.presence.length;
    while (this.presence.length === seen) {
      const text = await this.raw.receiveText();
      if (!this.#isPresence(text)) this.#held.push(text);
    }
    return this.presence.at(-1)!;
  }
  /** True when nothing but presence frames is waiting (after `timeoutMs` more, for timers). */
  async receiveNothing(options: { timeoutMs?: number } = {}): Promise<boolean> {
    if (this.#held.length > 0) return false;
    while (!(await this.raw.receiveNothing(options))) {
      if (!this.#isPresence(await this.raw.receiveText())) return false;
    }
    return true;
  }
  /** The close code, past any frames still waiting. */
  async receiveClose(): Promise<number> {
    this.#held.length = 0;
    for (;;) {
      const frame = await this.raw.receiveText().catch((error: unknown) => String(error));
      const closed = /closed with (\d+)/.exec(frame);
      if (closed) return Number(closed[1]);
    }
  }
  disconnect(code?: number): Promise<void> {
    return this.raw.disconnect(code);
  }
  #isPresence(text: string): boolean {
    const frame = JSON.parse(text) as { type?: string };
    if (frame.type === 'presence') this.presence.push(frame as PresenceFrame);
    return frame.type === 'presence';
  }
}

/** A chat with its own layer and store, and a way to open clients on it. */
function chat(options: Options = {}) {
  const layer = new InMemoryChannelLayer();
  const store = options.store ?? new MemoryMessageStore();
  const sessions = new SessionCookies({ secret: SECRET });
  const presence = new InMemoryPresence({ changeIntervalMs: 0 });
  const app = chatApplication({
    service: new ChatService({
      store,
      layer,
      logger: silentLogger,
      ...(options.now ? { now: options.now } : {}),
      ...(options.editWindowMs === undefined ? {} : { editWindowMs: options.editWindowMs }),
    }),
    sessions,
    allowedOrigins: AllowedOrigins.localDefaults(3000),
    quotas: options.rateLimit ? new ChatQuotas({ messages: options.rateLimit, ...(options.now ? { now: options.now } : {}) }) : null,
    maxFrameBytes: 65_536,
    typingIntervalMs: 1_000,
    heads: options.heads ?? null,
    ...(options.now ? { now: options.now } : {}),
  });
  const open = async (path = '/ws/chat/lobby/', user?: { id: string; name: string }) => {
    const headers: Record<string, string> = { origin: ORIGIN };
    if (user) headers.cookie = `session=${sessions.sign(user)}`;
    const raw = new WebsocketCommunicator(app, path, { layer, presence, headers });
    const outcome = await raw.connect();
    assert.deepEqual(outcome, { accepted: true });
    const client = new RoomClient(raw);
    const welcome = await client.receiveJson<WelcomeFrame>();
    const history = await client.receiveJson<HistoryFrame>();
    return { client, welcome, history };
  };
  const status = async (path: string, headers: Record<string, string>) => {
    const outcome = await new WebsocketCommunicator(app, path, { layer, presence, headers }).connect();
    return outcome.accepted ? 101 : outcome.status;
  };
  return { open, status, store, layer };
}

const ana = { id: 'u_ana', name: 'Ana' };
const bo = { id: 'u_bo', name: '波' };

describe('ChatConsumer: joining', () => {
  it('welcomes a session user by id and name, with the limits, then sends the latest history', async () => {
    const { open } = chat({ rateLimit: { rate: 20, perMs: 10_000, burst: 10 } });
    const { welcome, history } = await open('/ws/chat/lobby/', ana);
    assert.deepEqual(welcome, {
      type: 'welcome',
      protocol: 1,
      room: 'lobby',
      user_id: 'u_ana',
      user: 'Ana',
      limits: { max_message_chars: 2000, max_frame_bytes: 65536, history_page_size: 50, rate: { messages: 20, per_ms: 10000, burst: 10 }, edit_window_ms: 900000 },
    });
    assert.deepEqual(history, { type: 'history', messages: [], has_more: false });
  });

  it('gives a client without a session cookie a guest identity of its own', async () => {
    const { open } = chat();
    const first = await open();
    const second = await open();
    assert.match(first.welcome.user_id, /^u_/);
    assert.notEqual(first.welcome.user_id, second.welcome.user_id);
    assert.ok(first.welcome.user.length > 0);
  });

  it('treats /ws/chat/ as the lobby', async () => {
    const { open } = chat();
    const bare = await open('/ws/chat/', ana);
    const named = await open('/ws/chat/lobby/', bo);
    assert.equal(bare.welcome.room, 'lobby');
    bare.client.sendJson({ message: 'hi' });
    assert.equal((await named.client.receiveJson<ChatMessageFrame>()).message, 'hi');
  });

  it('refuses a bad room name with 404 and a foreign or missing Origin with 403', async () => {
    const { status } = chat();
    assert.equal(await status('/ws/chat/bad%20room/', { origin: ORIGIN }), 404);
    assert.equal(await status('/ws/chat/%E8%81%8A%E5%A4%A9/', { origin: ORIGIN }), 404);
    assert.equal(await status('/ws/chat/lobby/', { origin: 'http://evil.example' }), 403);
    assert.equal(await status('/ws/chat/lobby/', {}), 403);
    assert.equal(await status('/ws/chat/lobby/', { origin: 'null' }), 403);
  });

  it('tells a client resuming after an id the room never reached to reset what it shows', async () => {
    const { open } = chat();
    const first = await open('/ws/chat/lobby/?after=7', ana);
    assert.deepEqual(first.history, { type: 'history', messages: [], has_more: false, reset: true });
    first.client.sendJson({ message: 'one' });
    await first.client.receiveJson();
    assert.equal((await open('/ws/chat/lobby/?after=2', bo)).history.reset, true);
    assert.equal((await open('/ws/chat/lobby/?after=1', bo)).history.reset, undefined);
    assert.equal((await open('/ws/chat/lobby/?after=bogus', bo)).history.reset, undefined);
  });

  it('sends the latest page of earlier messages on join, oldest first', async () => {
    const { open } = chat();
    const early = await open('/ws/chat/lobby/', ana);
    for (let n = 1; n <= 55; n++) {
      early.client.sendJson({ message: `m${n}` });
      await early.client.receiveJson();
    }
    const { history } = await open('/ws/chat/lobby/', bo);
    assert.equal(history.messages.length, 50);
    assert.equal(history.messages[0]?.message, 'm6');
    assert.equal(history.messages[49]?.message, 'm55');
    assert.equal(history.has_more, true);
  });
});

describe('ChatConsumer: messages', () => {
  it("sends {message} to everyone in the room, sender included, under the session's name", async () => {
    const { open } = chat();
    const a = await open('/ws/chat/room1/', ana);
    const b = await open('/ws/chat/room1/', bo);
    const other = await open('/ws/chat/room2/', { id: 'u_cy', name: 'Cy' });
    a.client.sendJson({ message: '你好, world', user: 'mallory', user_id: 'u_admin' });
    const expected = { type: 'chat.message', id: '1', room: 'room1', user_id: 'u_ana', user: 'Ana', message: '你好, world' };
    const [toA, toB] = [await a.client.receiveJson<ChatMessageFrame>(), await b.client.receiveJson<ChatMessageFrame>()];
    assert.deepEqual({ ...toA, ts: undefined }, { ...expected, ts: undefined });
    assert.deepEqual(toA, toB);
    assert.equal(typeof toA.ts, 'number');
    assert.equal(await other.client.receiveNothing(), true);
  });

  it("stores a client's messages in order without waiting for each, and finishes them before it leaves", { timeout: 5_000 }, async () => {
    // A store that holds every append until released: the consumer must not wait for one
    // message to be stored before it takes the next.
    const memory = new MemoryMessageStore();
    const held: Array<() => void> = [];
    let waiting: { count: number; resolve: () => void } | null = null;
    const whenHeld = (count: number) =>
      new Promise<void>((resolve) => {
        if (held.length >= count) resolve();
        else waiting = { count, resolve };
      });
    const store: MessageStore = {
      directory: memory.directory,
      latest: (room, limit) => memory.latest(room, limit),
      before: (room, id, limit) => memory.before(room, id, limit),
      after: (room, id, limit) => memory.after(room, id, limit),
      ping: () => memory.ping(),
      close: () => memory.close(),
      revokeSession: (id, expiresAt) => memory.revokeSession(id, expiresAt),
      isSessionRevoked: (id) => memory.isSessionRevoked(id),
      heads: (rooms) => memory.heads(rooms),
      edit: (input) => memory.edit(input),
      remove: (input) => memory.remove(input),
      react: (input) => memory.react(input),
      message: (room, id) => memory.message(room, id),
      search: (rooms, query, options) => memory.search(rooms, query, options),
      append: (message) =>
        new Promise((resolve, reject) => {
          held.push(() => memory.append(message).then(resolve, reject));
          if (waiting && held.length >= waiting.count) waiting.resolve();
        }),
    };
    const { open } = chat({ store });
    const a = await open('/ws/chat/lobby/', ana);
    for (let n = 1; n <= 5; n++) a.client.sendJson({ type: 'chat.message', message: `m${n}`, client_id: `c${n}` });
    await whenHeld(5);
    for (const release of held.splice(0)) release();
    const echoes: string[] = [];
    for (let n = 1; n <= 5; n++) echoes.push((await a.client.receiveJson<ChatMessageFrame>()).message);
    assert.deepEqual(echoes, ['m1', 'm2', 'm3', 'm4', 'm5']);
    // One more, still being stored when the client goes: it is stored, then the consumer leaves.
    a.client.sendJson({ type: 'chat.message', message: 'last', client_id: 'c6' });
    await whenHeld(1);
    const gone = a.client.disconnect();
    held.shift()!();
    await gone;
    assert.deepEqual((await memory.latest('lobby', 10)).messages.map((message) => message.text), ['m1', 'm2', 'm3', 'm4', 'm5', 'last']);
  });

  it('numbers messages with increasing ids within a room', async () => {
    const { open } = chat();
    const a = await open('/ws/chat/lobby/', ana);
    const ids: string[] = [];
    for (const message of ['one', 'two', 'three']) {
      a.client.sendJson({ type: 'chat.message', message });
      ids.push((await a.client.receiveJson<ChatMessageFrame>()).id);
    }
    assert.deepEqual(ids, ['1', '2', '3']);
  });

  it('stores and broadcasts a repeated client_id once, and gives the sender the stored message again', async () => {
    const { open } = chat();
    const a = await open('/ws/chat/lobby/', ana);
    const b = await open('/ws/chat/lobby/', bo);
    a.client.sendJson({ type: 'chat.message', message: 'once', client_id: 'c-1' });
    const first = await a.client.receiveJson<ChatMessageFrame>();
    assert.equal(first.client_id, 'c-1');
    assert.deepEqual(await b.client.receiveJson(), first);
    a.client.sendJson({ type: 'chat.message', message: 'once', client_id: 'c-1' });
    assert.deepEqual(await a.client.receiveJson(), first);
    assert.equal(await b.client.receiveNothing(), true);
  });

  it('answers bad frames with error frames and stays open', async () => {
    const { open } = chat();
    const a = await open('/ws/chat/lobby/', ana);
    const cases: Array<[string, string]> = [
      ['not json', 'bad_json'],
      ['[1,2]', 'invalid_message'],
      ['{"message":""}', 'invalid_message'],
      ['{"type":"nope"}', 'unknown_type'],
      [JSON.stringify({ message: 'x'.repeat(2001) }), 'too_long'],
    ];
    for (const [text, code] of cases) {
      a.client.sendText(text);
      const error = await a.client.receiveJson<ErrorFrame>();
      assert.equal(error.type, 'error');
      assert.equal(error.code, code, text);
      assert.ok(error.detail.length > 0);
    }
    a.client.sendJson({ message: 'still open' });
    assert.equal((await a.client.receiveJson<ChatMessageFrame>()).message, 'still open');
  });

  it('echoes the client_id of a refused message', async () => {
    const { open } = chat();
    const a = await open('/ws/chat/lobby/', ana);
    a.client.sendJson({ type: 'chat.message', message: 'x'.repeat(2001), client_id: 'c-9' });
    assert.deepEqual(await a.client.receiveJson(), {
      type: 'error',
      code: 'too_long',
      detail: 'message is longer than 2000 characters',
      client_id: 'c-9',
    });
  });

  it('answers unavailable, without broadcasting, when the store fails', async () => {
    const failing = new MemoryMessageStore();
    failing.append = () => Promise.reject(new Error('disk full'));
    const { open } = chat({ store: failing });
    const a = await open('/ws/chat/lobby/', ana);
    const b = await open('/ws/chat/lobby/', bo);
    a.client.sendJson({ type: 'chat.message', message: 'lost?', client_id: 'c-2' });
    const error = await a.client.receiveJson<ErrorFrame>();
    assert.equal(error.code, 'unavailable');
    assert.equal(error.client_id, 'c-2');
    assert.equal(await b.client.receiveNothing(), true);
  });

  it('closes with 1003 on a binary frame', async () => {
    const { open } = chat();
    const a = await open('/ws/chat/lobby/', ana);
    a.client.sendBinary(Buffer.from('hi'));
    assert.equal(await a.client.receiveClose(), CloseCode.UnsupportedData);
  });
});

describe('ChatConsumer: resuming', () => {
  const post = async (client: RoomClient, count: number, from = 1): Promise<void> => {
    for (let n = from; n < from + count; n++) {
      client.sendJson({ message: `m${n}` });
      await client.receiveJson();
    }
  };
  const texts = (frames: readonly { messages: readonly ChatMessageFrame[] }[]): string[] =>
    frames.flatMap((frame) => frame.messages.map((message) => message.message));

  it('sends everything after ?after=<id>, oldest first, in pages of 100, before any live message', async () => {
    const { open } = chat();
    const writer = await open('/ws/chat/lobby/', ana);
    await post(writer.client, 230);
    const resumed = await open('/ws/chat/lobby/?after=5', bo);
    const frames = [resumed.history];
    for (let page = 1; page < 3; page++) frames.push(await resumed.client.receiveJson<HistoryFrame>());
    assert.deepEqual(frames.map((frame) => frame.messages.length), [100, 100, 25]);
    assert.deepEqual(texts(frames), Array.from({ length: 225 }, (_, n) => `m${n + 6}`));
    assert.ok(frames.every((frame) => frame.has_more && frame.reset === undefined));
    writer.client.sendJson({ message: 'live' });
    assert.equal((await resumed.client.receiveJson<ChatMessageFrame>()).message, 'live');
  });

  it('sends an empty history frame to a client that missed nothing', async () => {
    const { open } = chat();
    const writer = await open('/ws/chat/lobby/', ana);
    await post(writer.client, 2);
    const resumed = await open('/ws/chat/lobby/?after=2', bo);
    assert.deepEqual(resumed.history, { type: 'history', messages: [], has_more: true });
  });

  for (const [when, gateBeforeRead] of [
    ['before the backlog is read', true],
    ['after the backlog is read', false],
  ] as const) {
    it(`has no gap and no duplicate when messages arrive while resuming (${when})`, async () => {
      const store = new MemoryMessageStore();
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      let reading!: () => void;
      const readStarted = new Promise<void>((resolve) => (reading = resolve));
      const after = store.after.bind(store);
      store.after = async (room, id, limit) => {
        reading();
        if (gateBeforeRead) {
          await gate;
          return after(room, id, limit);
        }
        const page = await after(room, id, limit);
        await gate;
        return page;
      };
      const { open } = chat({ store });
      const writer = await open('/ws/chat/lobby/', ana);
      await post(writer.client, 3);
      const resuming = open('/ws/chat/lobby/?after=1', bo);
      await readStarted;
      await post(writer.client, 2, 4);
      release();
      const resumed = await resuming;
      const received = texts([resumed.history]);
      while (received.length < 4) received.push((await resumed.client.receiveJson<ChatMessageFrame>()).message);
      assert.deepEqual(received, ['m2', 'm3', 'm4', 'm5']);
      writer.client.sendJson({ message: 'm6' });
      assert.equal((await resumed.client.receiveJson<ChatMessageFrame>()).message, 'm6');
      assert.equal(await resumed.client.receiveNothing(), true);
    });
  }
});

describe('ChatConsumer: presence', () => {
  it('lists the people in the room on join, and tells everyone when someone comes or goes', async () => {
    const { open } = chat();
    const a = await open('/ws/chat/lobby/', ana);
    assert.deepEqual((await a.client.nextPresence()).users, [{ user_id: 'u_ana', user: 'Ana' }]);
    const b = await open('/ws/chat/lobby/', bo);
    const both = [
      { user_id: 'u_ana', user: 'Ana' },
      { user_id: 'u_bo', user: '波' },
    ];
    assert.deepEqual((await b.client.nextPresence()).users, both);
    assert.equal(await a.client.receiveNothing(), true);
    assert.deepEqual(a.client.presence.at(-1)?.users, both);
    await b.client.disconnect();
    assert.equal(await a.client.receiveNothing(), true);
    assert.deepEqual(a.client.presence.at(-1)?.users, [{ user_id: 'u_ana', user: 'Ana' }]);
  });

  it('counts two tabs of one person once, and keeps them until the last tab closes', async () => {
    const { open } = chat();
    const watcher = await open('/ws/chat/lobby/', bo);
    const first = await open('/ws/chat/lobby/', ana);
    await watcher.client.receiveNothing();
    const updates = watcher.client.presence.length;
    const second = await open('/ws/chat/lobby/', ana);
    assert.deepEqual((await second.client.nextPresence()).users.map((user) => user.user_id), ['u_ana', 'u_bo']);
    await first.client.disconnect();
    await watcher.client.receiveNothing();
    assert.equal(watcher.client.presence.length, updates, 'no change while a tab is left');
    await second.client.disconnect();
    await watcher.client.receiveNothing();
    assert.deepEqual(watcher.client.presence.at(-1)?.users, [{ user_id: 'u_bo', user: '波' }]);
  });

  it('keeps rooms apart', async () => {
    const { open } = chat();
    await open('/ws/chat/one/', ana);
    const other = await open('/ws/chat/two/', bo);
    assert.deepEqual((await other.client.nextPresence()).users, [{ user_id: 'u_bo', user: '波' }]);
  });
});

describe('ChatConsumer: other frames', () => {
  it('answers ping with pong', async () => {
    const { open } = chat();
    const a = await open('/ws/chat/lobby/', ana);
    a.client.sendJson({ type: 'ping' });
    assert.deepEqual(await a.client.receiveJson(), { type: 'pong' });
  });

  it('paces typing notices per person, across their tabs', async () => {
    const { open } = chat({ now: () => 0 });
    const tab1 = await open('/ws/chat/lobby/', ana);
    const tab2 = await open('/ws/chat/lobby/', ana);
    const b = await open('/ws/chat/lobby/', bo);
    tab1.client.sendJson({ type: 'typing' });
    tab2.client.sendJson({ type: 'typing' });
    assert.deepEqual(await b.client.receiveJson(), { type: 'typing', user_id: 'u_ana', user: 'Ana' });
    assert.equal(await b.client.receiveNothing(), true);
    assert.equal(await tab2.client.receiveNothing(), true, "a person's own tabs are not told they type");
  });

  it('tells the others, not the typist, who is typing, at most once a second', async () => {
    let now = 0;
    const { open } = chat({ now: () => now });
    const a = await open('/ws/chat/lobby/', ana);
    const b = await open('/ws/chat/lobby/', bo);
    a.client.sendJson({ type: 'typing' });
    assert.deepEqual(await b.client.receiveJson(), { type: 'typing', user_id: 'u_ana', user: 'Ana' });
    a.client.sendJson({ type: 'typing' });
    assert.equal(await b.client.receiveNothing(), true);
    now += 1_000;
    a.client.sendJson({ type: 'typing' });
    assert.deepEqual(await b.client.receiveJson(), { type: 'typing', user_id: 'u_ana', user: 'Ana' });
    assert.equal(await a.client.receiveNothing(), true);
  });

  it('pages back through history on request', async () => {
    const { open } = chat();
    const a = await open('/ws/chat/lobby/', ana);
    for (let n = 1; n <= 5; n++) {
      a.client.sendJson({ message: `m${n}` });
      await a.client.receiveJson();
    }
    a.client.sendJson({ type: 'history', before: '4', limit: 2 });
    const page = await a.client.receiveJson<HistoryFrame>();
    assert.deepEqual(page.messages.map((m) => m.message), ['m2', 'm3']);
    assert.equal(page.has_more, true);
    a.client.sendJson({ type: 'history', before: '2', limit: 50 });
    const first = await a.client.receiveJson<HistoryFrame>();
    assert.deepEqual(first.messages.map((m) => m.message), ['m1']);
    assert.equal(first.has_more, false);
  });

  it('cuts a page of long messages to a frame of about 256 KiB, on join, on request and on resume, losing none', async () => {
    const store = new MemoryMessageStore();
    const long = '😀'.repeat(1_990);
    for (let n = 1; n <= 120; n++) await store.append({ room: 'lobby', userId: 'u_ana', user: 'Ana', text: `${n} ${long}` });
    const { open } = chat({ store });
    const bytes = (frame: HistoryFrame) => Buffer.byteLength(JSON.stringify(frame));
    const ids = (frame: HistoryFrame) => frame.messages.map((message) => Number(message.id));
    const a = await open('/ws/chat/lobby/', ana);
    assert.ok(bytes(a.history) <= HISTORY_FRAME_MAX_BYTES, `${bytes(a.history)} bytes on join`);
    assert.deepEqual(ids(a.history), Array.from({ length: a.history.messages.length }, (_, n) => 121 - a.history.messages.length + n), 'the newest');
    assert.equal(a.history.has_more, true);
    a.client.sendJson({ type: 'history', before: '60', limit: 100 });
    const older = await a.client.receiveJson<HistoryFrame>();
    assert.ok(bytes(older) <= HISTORY_FRAME_MAX_BYTES && older.messages.length > 0);
    assert.equal(ids(older).at(-1), 59, 'the ones just before');
    assert.equal(older.has_more, true);
    const resumed = await open('/ws/chat/lobby/?after=3', bo);
    const frames = [resumed.history];
    while (frames.flatMap(ids).at(-1) !== 120) frames.push(await resumed.client.receiveJson<HistoryFrame>());
    assert.ok(frames.length >= 4 && frames.every((frame) => bytes(frame) <= HISTORY_FRAME_MAX_BYTES), `${frames.length} frames`);
    assert.deepEqual(frames.flatMap(ids), Array.from({ length: 117 }, (_, n) => n + 4), 'every message after 3, once, in order');
  });
});

describe('ChatConsumer: rate limit', () => {
  it('refuses messages past the burst with rate_limited, and takes them again after the refill', async () => {
    let now = 0;
    const { open } = chat({ rateLimit: { rate: 2, perMs: 1_000, burst: 2 }, now: () => now });
    const a = await open('/ws/chat/lobby/', ana);
    for (const message of ['1', '2']) {
      a.client.sendJson({ message });
      assert.equal((await a.client.receiveJson<ChatMessageFrame>()).message, message);
    }
    a.client.sendJson({ type: 'chat.message', message: '3', client_id: 'c-3' });
    const refused = await a.client.receiveJson<ErrorFrame>();
    assert.equal(refused.code, 'rate_limited');
    assert.equal(refused.client_id, 'c-3');
    now += 500;
    a.client.sendJson({ type: 'chat.message', message: '3', client_id: 'c-3' });
    assert.equal((await a.client.receiveJson<ChatMessageFrame>()).message, '3');
  });

  it('closes a client that keeps flooding with 1008', async () => {
    const { open } = chat({ rateLimit: { rate: 1, perMs: 60_000, burst: 1 }, now: () => 0 });
    const a = await open('/ws/chat/lobby/', ana);
    let sent = 0;
    try {
      for (; sent < 1_000; sent++) a.client.sendText('not json');
    } catch {
      // The communicator refuses to send on a closed connection: the server has hung up.
    }
    assert.ok(sent > 10 && sent < 1_000, `closed after ${sent} frames`);
    const codes = new Set<string>();
    for (;;) {
      const frame = await a.client.receiveText().catch((error: unknown) => String(error));
      if (frame.includes('closed with')) {
        assert.match(frame, new RegExp(`closed with ${CloseCode.PolicyViolation}`));
        break;
      }
      codes.add((JSON.parse(frame) as ErrorFrame).code);
    }
    assert.deepEqual([...codes], ['bad_json', 'rate_limited']);
  });
});

/** A memory store that several processes would share: its commits are told to head listeners by the test. */
class SharedStore extends MemoryMessageStore {
  readonly listeners = new Set<HeadListener>();
  watchHeads(listener: HeadListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  /** Stores a message as another process would that died before sending it on, and tells of it. */
  async commitUnsent(room: string, user: { id: string; name: string }, text: string, clientId?: string): Promise<string> {
    const { message } = await this.append({ room, userId: user.id, user: user.name, text, ...(clientId ? { clientId } : {}) });
    for (const listener of this.listeners) listener.head(room, message.id);
    return message.id;
  }
}

describe('ChatConsumer: no gap survives on an open socket', () => {
  it('sends every connection a message its sender stored and died before sending, once the grace is over', async () => {
    const store = new SharedStore();
    const heads = new RoomHeads(store, { graceMs: 5, pollMs: 60_000 });
    const { open } = chat({ store, heads });
    const a = await open('/ws/chat/lobby/', ana);
    const b = await open('/ws/chat/lobby/', bo);
    a.client.sendJson({ message: 'live' });
    assert.equal((await a.client.receiveJson<ChatMessageFrame>()).message, 'live');
    assert.equal((await b.client.receiveJson<ChatMessageFrame>()).message, 'live');
    const id = await store.commitUnsent('lobby', { id: 'u_cy', name: 'Cy' }, 'stored, never sent');
    for (const client of [a, b]) {
      const filled = await client.client.receiveJson<ChatMessageFrame>();
      assert.deepEqual([filled.id, filled.message], [id, 'stored, never sent']);
      assert.equal(await client.client.receiveNothing(), true, 'once');
    }
    heads.close();
  });

  it('sends every connection an edit stored by a process that died before sending it', async () => {
    const store = new SharedStore();
    const heads = new RoomHeads(store, { graceMs: 5, pollMs: 60_000 });
    const { open } = chat({ store, heads });
    const a = await open('/ws/chat/lobby/', ana);
    const b = await open('/ws/chat/lobby/', bo);
    a.client.sendJson({ message: '原话' });
    await a.client.receiveJson();
    await b.client.receiveJson();
    // Another process of Ana's stores an edit and then dies: only the head is heard.
    const edit = await store.edit({ room: 'lobby', userId: 'u_ana', user: 'Ana', target: '1', text: '改过', editableSince: 0 });
    assert.ok(edit.ok);
    for (const listener of store.listeners) listener.head('lobby', edit.event.id);
    for (const client of [a, b]) {
      const filled = await client.client.receiveJson<EditFrame>();
      assert.deepEqual([filled.type, filled.id, filled.target, filled.text], ['chat.edit', '2', '1', '改过']);
      assert.equal(await client.client.receiveNothing(), true, 'once');
    }
    heads.close();
  });

  it('reads nothing for a message whose head is heard before it arrives live, within the grace', async () => {
    const store = new SharedStore();
    let reads = 0;
    const after = store.after.bind(store);
    store.after = async (room, id, limit) => {
      reads++;
      return after(room, id, limit);
    };
    const heads = new RoomHeads(store, { graceMs: 30, pollMs: 60_000 });
    const { open, layer } = chat({ store, heads });
    const b = await open('/ws/chat/lobby/', bo);
    // PostgreSQL tells of the commit before the sender's process has sent the message on.
    const { message } = await store.append({ room: 'lobby', userId: ana.id, user: ana.name, text: 'on its way' });
    for (const listener of store.listeners) listener.head('lobby', message.id);
    await layer.groupSend(roomGroup('lobby'), { type: 'chat.message', frame: messageFrame(message) });
    assert.equal((await b.client.receiveJson<ChatMessageFrame>()).id, message.id);
    // Past the grace, with the connection up to the head: nothing was read, nothing sent again.
    assert.equal(await b.client.receiveNothing({ timeoutMs: 60 }), true);
    assert.equal(reads, 0);
    heads.close();
  });

  it('catches up a quiet room after its heads were missed: the next read of the heads finds the gap', async () => {
    const store = new SharedStore();
    const heads = new RoomHeads(store, { graceMs: 5, pollMs: 60_000 });
    const { open } = chat({ store, heads });
    const a = await open('/ws/chat/quiet/', ana);
    // Committed while the store's listening connection was down: nobody heard of it.
    const { message } = await store.append({ room: 'quiet', userId: 'u_cy', user: 'Cy', text: 'unheard' });
    for (const listener of store.listeners) listener.missed();
    const filled = await a.client.receiveJson<ChatMessageFrame>();
    assert.deepEqual([filled.id, filled.message], [message.id, 'unheard']);
    heads.close();
  });

  it("sends a retried message to the room when the first sending never went out, and to its sender once", async () => {
    const store = new SharedStore();
    const { open } = chat({ store });
    const a = await open('/ws/chat/lobby/', ana);
    const b = await open('/ws/chat/lobby/', bo);
    // Stored by a process that died before sending it: Ana's client never heard, and retries.
    const { message } = await store.append({ room: 'lobby', userId: ana.id, user: ana.name, text: 'retried', clientId: 'c-r' });
    a.client.sendJson({ type: 'chat.message', message: 'retried', client_id: 'c-r' });
    const echo = await a.client.receiveJson<ChatMessageFrame>();
    assert.deepEqual([echo.id, echo.client_id], [message.id, 'c-r']);
    assert.equal(await a.client.receiveNothing(), true, 'the sender hears it once');
    const other = await b.client.receiveJson<ChatMessageFrame>();
    assert.equal(other.id, message.id);
    assert.equal(await b.client.receiveNothing(), true);
  });
});

describe('ChatConsumer: edits, deletions, reactions, replies', () => {
  /** Sends a frame and reads the next frame of the sender (its echo or its refusal). */
  const ask = async <T,>(client: RoomClient, frame: object): Promise<T> => {
    client.sendJson(frame);
    return client.receiveJson<T>();
  };

  it('brings an edit and a deletion made while a client was away on its resume, never the old text', async () => {
    const { open } = chat();
    const writer = await open('/ws/chat/lobby/', ana);
    const reader = await open('/ws/chat/lobby/', bo);
    await ask(writer.client, { message: '第一条' });
    await ask(writer.client, { message: '第二条：秘密' });
    const seen = [await reader.client.receiveJson<ChatMessageFrame>(), await reader.client.receiveJson<ChatMessageFrame>()];
    assert.deepEqual(seen.map((frame) => frame.id), ['1', '2']);
    await reader.client.disconnect();

    const edit = await ask<EditFrame>(writer.client, { type: 'chat.edit', id: '1', text: '第一条（改过）' });
    assert.deepEqual([edit.type, edit.id, edit.target, edit.text, edit.user_id], ['chat.edit', '3', '1', '第一条（改过）', 'u_ana']);
    assert.equal(Object.hasOwn(edit, 'message'), false, 'an edit has no message field an old client would show');
    const deletion = await ask<DeleteFrame>(writer.client, { type: 'chat.delete', id: '2' });
    assert.deepEqual([deletion.type, deletion.id, deletion.target], ['chat.delete', '4', '2']);

    const back = await open('/ws/chat/lobby/?after=2', bo);
    assert.deepEqual(back.history.messages, []);
    assert.deepEqual(
      back.history.events?.map((event) => [event.type, event.id, event.target]),
      [
        ['chat.edit', '3', '1'],
        ['chat.delete', '4', '2'],
      ],
    );
    assert.equal(JSON.stringify(back.history).includes('秘密'), false);
    // The events count as sent: the next live message comes once, with nothing before it.
    await ask(writer.client, { message: '第三条' });
    assert.deepEqual((await back.client.receiveJson<ChatMessageFrame>()).id, '5');
    assert.equal(await back.client.receiveNothing(), true);
  });

  it('shows edited messages and tombstones on history pages, and counts the events as sent', async () => {
    const { open } = chat();
    const writer = await open('/ws/chat/lobby/', ana);
    await ask(writer.client, { message: '原来的话' });
    await ask(writer.client, { message: '不该说的话' });
    await ask(writer.client, { type: 'chat.edit', id: '1', text: '改过的话' });
    await ask(writer.client, { type: 'chat.delete', id: '2' });
    const joined = await open('/ws/chat/lobby/', bo);
    assert.equal(joined.history.head, '4');
    const [edited, tombstone] = joined.history.messages;
    assert.equal(edited?.message, '改过的话');
    assert.equal(typeof edited?.edited_at, 'number');
    assert.deepEqual([tombstone?.id, tombstone?.message, tombstone?.deleted], ['2', '', true]);
    assert.equal(JSON.stringify(joined.history).includes('不该说'), false);
    await ask(writer.client, { message: 'next' });
    assert.equal((await joined.client.receiveJson<ChatMessageFrame>()).id, '5');
    const older = await ask<HistoryFrame>(joined.client, { type: 'history', before: '5', limit: 10 });
    assert.deepEqual(older.messages.map((message) => [message.id, message.deleted ?? false]), [
      ['1', false],
      ['2', true],
    ]);
  });

  it('toggles and counts reactions per person and emoji, for everyone in the room', async () => {
    const { open } = chat();
    const a = await open('/ws/chat/lobby/', ana);
    const b = await open('/ws/chat/lobby/', bo);
    await ask(a.client, { message: '午饭吃什么？' });
    await b.client.receiveJson();
    const first = await ask<ReactionFrame>(b.client, { type: 'chat.react', id: '1', emoji: '🍜' });
    assert.deepEqual([first.type, first.emoji, first.on, first.count, first.user_id], ['chat.reaction', '🍜', true, 1, 'u_bo']);
    assert.equal(Object.hasOwn(first, 'message'), false);
    assert.deepEqual(await a.client.receiveJson(), first);
    const second = await ask<ReactionFrame>(a.client, { type: 'chat.react', id: '1', emoji: '🍜', on: true });
    assert.equal(second.count, 2);
    await b.client.receiveJson();
    const off = await ask<ReactionFrame>(b.client, { type: 'chat.react', id: '1', emoji: '🍜' });
    assert.deepEqual([off.on, off.count], [false, 1]);
    await a.client.receiveJson();
    const again = await ask<ErrorFrame>(a.client, { type: 'chat.react', id: '1', emoji: '🍜', on: true, client_id: 'r1' });
    assert.deepEqual([again.code, again.client_id], ['invalid_message', 'r1'], 'already so: nothing stored');
    assert.deepEqual(await ask<ErrorFrame>(a.client, { type: 'chat.react', id: '1', emoji: 'lol' }).then((e) => e.code), 'invalid_message');
    const joined = await open('/ws/chat/lobby/', { id: 'u_cy', name: 'Cy' });
    assert.deepEqual(joined.history.messages[0]?.reactions, [{ emoji: '🍜', count: 1, user_ids: ['u_ana'] }]);
  });

  it('quotes the parent of a reply, and reads well once the parent is deleted', async () => {
    const { open } = chat();
    const a = await open('/ws/chat/lobby/', ana);
    const b = await open('/ws/chat/lobby/', bo);
    await ask(a.client, { message: '明天开会吗？' });
    await b.client.receiveJson();
    const reply = await ask<ChatMessageFrame>(b.client, { message: '开，十点', reply_to: '1', client_id: 'r-1' });
    assert.deepEqual(reply.reply_to, { id: '1', user_id: 'u_ana', user: 'Ana', text: '明天开会吗？' });
    await a.client.receiveJson();
    const missing = await ask<ErrorFrame>(b.client, { message: '?', reply_to: '99', client_id: 'r-2' });
    assert.deepEqual([missing.type, missing.code, missing.client_id], ['error', 'not_found', 'r-2']);
    await ask(a.client, { type: 'chat.delete', id: '1' });
    const joined = await open('/ws/chat/lobby/', { id: 'u_cy', name: 'Cy' });
    assert.deepEqual(joined.history.messages[1]?.reply_to, { id: '1', user_id: 'u_ana', user: 'Ana', text: '', deleted: true });
  });

  it('stores a reply and the messages sent right after it in the order they were sent', async () => {
    const { open } = chat();
    const a = await open('/ws/chat/lobby/', ana);
    await ask(a.client, { message: '问题' });
    a.client.sendJson({ message: '回答', reply_to: '1' });
    a.client.sendJson({ message: '补充' });
    a.client.sendJson({ message: '再补充' });
    const frames = [await a.client.receiveJson<ChatMessageFrame>(), await a.client.receiveJson<ChatMessageFrame>(), await a.client.receiveJson<ChatMessageFrame>()];
    assert.deepEqual(frames.map((frame) => [frame.id, frame.message]), [
      ['2', '回答'],
      ['3', '补充'],
      ['4', '再补充'],
    ]);
  });

  it("refuses changing someone else's message, an edit past the window, and a message that is not there", async () => {
    let clock = 1_700_000_000_000;
    const now = () => clock;
    const { open } = chat({ store: new MemoryMessageStore({ now }), now, editWindowMs: 60_000 });
    const a = await open('/ws/chat/lobby/', ana);
    const b = await open('/ws/chat/lobby/', bo);
    await ask(a.client, { message: 'mine' });
    await b.client.receiveJson();
    const code = async (client: RoomClient, frame: object) => (await ask<ErrorFrame>(client, frame)).code;
    assert.equal(await code(b.client, { type: 'chat.edit', id: '1', text: 'yours?' }), 'forbidden');
    assert.equal(await code(b.client, { type: 'chat.delete', id: '1' }), 'forbidden');
    assert.equal(await code(a.client, { type: 'chat.edit', id: '7', text: 'x' }), 'not_found');
    clock += 61_000;
    assert.equal(await code(a.client, { type: 'chat.edit', id: '1', text: 'too late' }), 'too_late');
    assert.equal((await ask<DeleteFrame>(a.client, { type: 'chat.delete', id: '1' })).type, 'chat.delete', 'deleting has no window');
    assert.equal(await code(a.client, { type: 'chat.delete', id: '1' }), 'deleted');
    assert.equal(await code(a.client, { type: 'chat.delete', id: '2' }), 'not_found', 'an event is no message');
    assert.equal(await b.client.receiveJson().then((frame) => (frame as { type: string }).type), 'chat.delete');
    assert.equal(await b.client.receiveNothing(), true, 'refusals reach no one else');
  });

  it("keeps the old client's shape: every frame with a string message is a message, once", async () => {
    const { open } = chat();
    const a = await open('/ws/chat/lobby/', ana);
    const old = await open('/ws/chat/lobby/', bo);
    const shown: string[] = [];
    const read = async (count: number) => {
      for (let n = 0; n < count; n++) {
        const data = await old.client.receiveJson<{ message?: unknown }>();
        if (typeof data.message === 'string') shown.push(data.message);
      }
    };
    old.client.sendJson({ message: '我是老客户端' });
    await read(1);
    await ask(a.client, { message: '你好' });
    await ask(a.client, { type: 'chat.edit', id: '2', text: '你好！' });
    await ask(a.client, { type: 'chat.react', id: '1', emoji: '👋' });
    await ask(a.client, { message: 'bye' });
    await ask(a.client, { type: 'chat.delete', id: '5' });
    await read(5);
    assert.deepEqual(shown, ['我是老客户端', '你好', 'bye']);
  });
});

/**
 * Property-based, over real sockets with the quotas on and time standing still: random runs of
 * history requests and of messages full of @mentions, from two people in a room. Whatever comes,
 * every history request gets one answer (a page that is exactly the store's, or an error), no
 * connection reads more rows than its budget, the store holds exactly the messages that were
 * acknowledged, and a mention notifies only the room's participants it names (the first ten
 * names), each once, never its author, and never a stranger who took a participant's name.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import WebSocket from 'ws';
import { type ChatServer, startChatServer } from '../testing/chat-server';
import { MAX_HISTORY_PAGE_SIZE } from './protocol';
import { ChatQuotas } from './quotas';

type Frame = Record<string, unknown>;

const LIMIT = { rate: 20, perMs: 10_000, burst: 10 };
const HISTORY_ROWS_PER_CONNECTION = 300;
const ROOM = 'porch';

const alice = { id: 'u_alice', name: 'Alice' };
const bob = { id: 'u_bob', name: 'Bob' };
/** Wrote the room's last seeded message, then left: still someone a mention there may reach. */
const ghost = { id: 'u_ghost', name: 'Ghost' };
/** In another room, under a participant's name: a mention in this room must never reach her. */
const carol = { id: 'u_carol', name: 'Alice' };
const NAMES = ['Alice', 'alice', 'Bob', 'Ghost', 'Nobody', '小明'];

class Client {
  readonly frames: Frame[] = [];
  #wake: (() => void) | null = null;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      this.frames.push(JSON.parse(data.toString()) as Frame);
      this.#wake?.();
    });
  }

  static async open(chat: ChatServer, path: string, user: { id: string; name: string }): Promise<Client> {
    const cookie = `session=${chat.sessions.sign(user)}`;
    const client = new Client(new WebSocket(`${chat.url}${path}`, { headers: { origin: chat.origin, cookie } }));
    await once(client.ws, 'open');
    return client;
  }

  async until(match: (frame: Frame) => boolean, from = 0): Promise<Frame> {
    for (;;) {
      const found = this.frames.slice(from).find(match);
      if (found) return found;
      assert.equal(this.ws.readyState, WebSocket.OPEN, 'the connection closed');
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
  }

  /** Sends a ping and waits for its pong: everything written to this socket before it has arrived. */
  async barrier(): Promise<void> {
    const from = this.frames.length;
    this.ws.send('{"type":"ping"}');
    await this.until((frame) => frame.type === 'pong', from);
  }
}

type Action =
  | { readonly kind: 'history'; readonly who: 0 | 1; readonly limit: number; readonly before: number | null }
  | { readonly kind: 'message'; readonly who: 0 | 1; readonly mentions: readonly string[] };

const action: fc.Arbitrary<Action> = fc.oneof(
  fc.record({
    kind: fc.constant('history' as const),
    who: fc.constantFrom(0 as const, 1 as const),
    limit: fc.oneof(fc.integer({ min: 1, max: MAX_HISTORY_PAGE_SIZE }), fc.constant(MAX_HISTORY_PAGE_SIZE), fc.constantFrom(0, 101, 1_000)),
    before: fc.option(fc.integer({ min: 0, max: 200 }), { nil: null }),
  }),
  fc.record({
    kind: fc.constant('message' as const),
    who: fc.constantFrom(0 as const, 1 as const),
    mentions: fc.array(fc.oneof(fc.constantFrom(...NAMES), fc.integer({ min: 0, max: 30 }).map((n) => `p${n}`)), { maxLength: 25 }),
  }),
);

/** The names a message's mentions count: the first ten different ones, as typed. */
function countedNames(mentions: readonly string[]): string[] {
  return [...new Set(mentions)].slice(0, 10);
}

describe('history and mentions under random requests, with the quotas on', () => {
  const servers: ChatServer[] = [];
  after(async () => {
    await Promise.all(servers.map((server) => server.close()));
  });

  const property = fc.asyncProperty(fc.integer({ min: 0, max: 150 }), fc.array(action, { minLength: 1, maxLength: 40, size: 'large' }), async (seeded, actions) => {
    // Frames are not what this is about: enough for every request and its barrier ping.
    const quotas = new ChatQuotas({ messages: LIMIT, now: () => 0, framesPerMessage: 100, historyRows: { rate: 1, perMs: 10_000, burst: HISTORY_ROWS_PER_CONNECTION } });
    const chat = await startChatServer({ quotas });
    servers.push(chat);
    for (let n = 0; n < seeded; n++) await chat.store.append({ room: ROOM, userId: bob.id, user: bob.name, text: `old ${n}` });
    await chat.store.append({ room: ROOM, userId: ghost.id, user: ghost.name, text: 'bye' });

    const notified = new Map<string, Client>();
    for (const user of [alice, bob, ghost, carol]) notified.set(user.id, await Client.open(chat, '/ws/notifications/', user));
    const people = [alice, bob] as const;
    const rooms = [await Client.open(chat, `/ws/chat/${ROOM}/`, alice), await Client.open(chat, `/ws/chat/${ROOM}/`, bob)];
    await Client.open(chat, '/ws/chat/elsewhere/', carol);
    for (const client of rooms) await client.until((frame) => frame.type === 'presence');
    await rooms[0]!.until((frame) => frame.type === 'presence' && (frame.users as unknown[]).length === 2);

    const acknowledged: string[] = [];
    const expectedNotices = new Map<string, string[]>([[alice.id, []], [bob.id, []], [ghost.id, []]]);
    const rowsServed = [0, 0];
    for (const [index, step] of actions.entries()) {
      const client = rooms[step.who]!;
      const from = client.frames.length;
      if (step.kind === 'history') {
        client.ws.send(JSON.stringify({ type: 'history', limit: step.limit, ...(step.before === null ? {} : { before: String(step.before) }) }));
        await client.barrier();
        const answers = client.frames.slice(from).filter((frame) => frame.type === 'history' || frame.type === 'error');
        assert.equal(answers.length, 1, `one answer to ${JSON.stringify(step)}: ${JSON.stringify(answers).slice(0, 300)}`);
        const [answer] = answers as [Frame];
        const valid = step.limit >= 1 && step.limit <= MAX_HISTORY_PAGE_SIZE && (step.before === null || step.before >= 1);
        if (!valid) {
          assert.equal(answer.code, 'invalid_message');
          continue;
        }
        if (answer.type === 'error') {
          assert.equal(answer.code, 'rate_limited');
          assert.ok(rowsServed[step.who]! + step.limit > HISTORY_ROWS_PER_CONNECTION, `refused within the budget: ${JSON.stringify(step)} after ${rowsServed[step.who]} rows`);
          continue;
        }
        rowsServed[step.who]! += step.limit;
        const page = step.before === null ? await chat.store.latest(ROOM, step.limit) : await chat.store.before(ROOM, String(step.before), step.limit);
        assert.deepEqual(
          (answer.messages as Frame[]).map((message) => message.id),
          page.messages.map((message) => message.id),
        );
        assert.equal(answer.has_more, page.hasMore);
      } else {
        const author = people[step.who]!;
        const text = `${index} ${step.mentions.map((name) => `@${name}`).join(' ')} 你好`;
        const clientId = `m${index}`;
        client.ws.send(JSON.stringify({ type: 'chat.message', message: text, client_id: clientId }));
        const answer = await client.until((frame) => frame.client_id === clientId);
        if (answer.type === 'error') {
          assert.equal(answer.code, 'rate_limited');
          continue;
        }
        assert.equal(answer.message, text);
        acknowledged.push(text);
        const named = new Set(countedNames(step.mentions).map((name) => name.toLowerCase()));
        for (const person of [alice, bob, ghost]) {
          if (person.id !== author.id && named.has(person.name.toLowerCase())) expectedNotices.get(person.id)!.push(text);
        }
      }
      assert.ok(rowsServed.every((rows) => rows <= HISTORY_ROWS_PER_CONNECTION), `rows served ${rowsServed.join(', ')}`);
    }

    // Each participant's notifications, then a ping on every notification socket (the stranger's
    // last): whatever was notified before has arrived.
    for (const [id, client] of notified) {
      const expected = expectedNotices.get(id) ?? [];
      const received = () => client.frames.filter((frame) => frame.type === 'notification').map((frame) => frame.body);
      if (expected.length > 0) await client.until(() => received().length >= expected.length);
      await client.barrier();
      assert.deepEqual(received(), expected, `notifications of ${id}`);
    }
    const stored = (await chat.store.latest(ROOM, 1_000)).messages.map((message) => message.text).slice(seeded + 1);
    assert.deepEqual(stored, acknowledged);
    for (const client of [...rooms, ...notified.values()]) client.ws.close();
    await chat.close();
  });

  it('holds with a fixed seed', { timeout: 120_000 }, async () => {
    await fc.assert(property, { seed: 20_261_204, numRuns: 20 });
  });
});

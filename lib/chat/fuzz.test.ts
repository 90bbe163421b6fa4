/**
 * Property-based: random and hostile frames thrown at the chat over real sockets, interleaved with
 * a well-behaved client's messages. Whatever comes, the server stays up; it answers a hostile
 * frame only with one error frame of the right code (the socket staying open) or with the close
 * code the SPEC's table gives it, and a well-formed frame among the attacks as the protocol says;
 * the other client gets every message, and the store holds exactly the messages that were valid.
 * A fixed seed runs every time; a short run with a fresh seed follows (printed when it fails).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import WebSocket from 'ws';
import { type ChatServer, startChatServer } from '../testing/chat-server';
import { type ClientFrame, type ErrorCode, MAX_MESSAGE_CHARS, parseClientFrame, parseServerFrame, type ServerFrame } from './protocol';

const MAX_FRAME_BYTES = 16 * 1024;

type Attack =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'invalid-utf8'; readonly bytes: Uint8Array }
  | { readonly kind: 'binary'; readonly bytes: Uint8Array };

const hostileText: fc.Arbitrary<string> = fc.oneof(
  // Well-formed frames among the attacks, answered as the protocol says.
  fc.constantFrom('{"type":"typing"}', '{"type":"ping"}', '{"type":"history","limit":5}', '{"type":"history","before":"1"}'),
  fc.json(),
  fc.string({ unit: 'grapheme', maxLength: 200 }),
  fc.nat({ max: 20_000 }).map((depth) => `${'['.repeat(depth)}${']'.repeat(depth)}`),
  fc.nat({ max: 5_000 }).map((depth) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`),
  fc.integer({ min: MAX_MESSAGE_CHARS - 5, max: MAX_MESSAGE_CHARS + 5 }).map((length) => JSON.stringify({ message: '长'.repeat(length) })),
  fc.integer({ min: MAX_FRAME_BYTES - 50, max: MAX_FRAME_BYTES + 50 }).map((length) => JSON.stringify({ message: 'x'.repeat(length) })),
  fc.record({
    type: fc.oneof(fc.constantFrom('chat.message', 'typing', 'history', 'ping', '__proto__', 'constructor'), fc.string()),
    message: fc.oneof(fc.string({ unit: 'grapheme' }), fc.anything()),
    client_id: fc.oneof(fc.constantFrom('c-1', 'c-2', 'bad id', ''), fc.anything()),
    before: fc.oneof(fc.constantFrom('1', '0', '-1', '99999999999999999999'), fc.anything()),
    limit: fc.oneof(fc.integer({ min: -5, max: 200 }), fc.anything()),
  }).map((frame) => JSON.stringify(frame)),
  fc.string().map((message) => `{"__proto__":{"type":"ping","message":${JSON.stringify(message)}},"constructor":{"prototype":{"admin":true}},"message":${JSON.stringify(message)}}`),
  fc.string({ maxLength: 30 }).map((message) => `{"message":${JSON.stringify(message)},"user":"mallory","user_id":"system"}`),
);

const attack: fc.Arbitrary<Attack> = fc.oneof(
  { weight: 8, arbitrary: hostileText.map((text) => ({ kind: 'text' as const, text })) },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 20 }).map((bytes) => ({ kind: 'invalid-utf8' as const, bytes: Uint8Array.from([0x7b, 0xc3, 0x28, ...bytes]) })) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 40 }).map((bytes) => ({ kind: 'binary' as const, bytes })) },
);

/**
 * What the server must answer to an attack: a close of the SPEC's table (binary 1003, invalid
 * UTF-8 1007, over the frame size 1009), one error frame for any other frame the protocol refuses,
 * or, for a well-formed frame that happens to be among the attacks, what the protocol promises.
 */
type ExpectedAnswer =
  | { readonly kind: 'close'; readonly code: number }
  | { readonly kind: 'error'; readonly code: ErrorCode; readonly clientId: string | undefined }
  | { readonly kind: 'accepted'; readonly frame: ClientFrame };

function expectedAnswer(hostile: Attack): ExpectedAnswer {
  if (hostile.kind === 'binary') return { kind: 'close', code: 1003 };
  if (hostile.kind === 'invalid-utf8') return { kind: 'close', code: 1007 };
  if (Buffer.byteLength(hostile.text) > MAX_FRAME_BYTES) return { kind: 'close', code: 1009 };
  const parsed = parseClientFrame(hostile.text);
  return parsed.ok ? { kind: 'accepted', frame: parsed.frame } : { kind: 'error', code: parsed.error.code, clientId: parsed.error.client_id };
}

/** Frames a connection gets for what others do, whatever it sent itself. */
function isBackground(frame: ServerFrame, me: string): boolean {
  return frame.type === 'presence' || frame.type === 'typing' || (frame.type === 'chat.message' && frame.user_id !== me);
}

/** Whether `frame` is the server's answer to the chat message `sent` from `me`. */
function isEchoOf(frame: ServerFrame, sent: ClientFrame & { type: 'chat.message' }, me: string): boolean {
  if (frame.type !== 'chat.message' || frame.user_id !== me) return false;
  // A repeated client_id is answered with the message first stored under it, whatever its text.
  return sent.clientId === undefined ? frame.client_id === undefined && frame.message === sent.message : frame.client_id === sent.clientId;
}

/** A client that keeps every frame and can wait for one, or for the close. */
class Client {
  readonly frames: string[] = [];
  closeCode: number | null = null;
  #wake: (() => void) | null = null;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      this.frames.push(data.toString());
      this.#wake?.();
    });
    ws.on('close', (code: number) => {
      this.closeCode = code;
      this.#wake?.();
    });
  }

  static async open(chat: ChatServer, room: string): Promise<Client> {
    const client = new Client(new WebSocket(`${chat.url}/ws/chat/${room}/`, { headers: { origin: chat.origin } }));
    await once(client.ws, 'open');
    return client;
  }

  /** Waits until a frame matches, or the connection closes; true for the frame. */
  until(match: (frame: string) => boolean, from = 0): Promise<boolean> {
    return this.untilFrames((frames) => frames.some(match), from);
  }

  /** Waits until the frames since `from` satisfy `done`, or the connection closes; true for `done`. */
  async untilFrames(done: (frames: readonly string[]) => boolean, from = 0): Promise<boolean> {
    for (;;) {
      if (done(this.frames.slice(from))) return true;
      if (this.closeCode !== null) return false;
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
  }

  /** Waits for the connection's first frames (welcome, history, presence) and returns its user id. */
  async joined(): Promise<string> {
    assert.ok(await this.until((frame) => parseServerFrame(frame)?.type === 'presence'), 'no presence frame after joining');
    const welcome = this.frames.map(parseServerFrame).find((frame) => frame?.type === 'welcome');
    assert.ok(welcome?.type === 'welcome', 'no welcome frame');
    return welcome.user_id;
  }
}

describe('the chat under random and hostile frames', () => {
  let chat: ChatServer;
  let rooms = 0;
  before(async () => {
    chat = await startChatServer({ maxPayloadBytes: MAX_FRAME_BYTES });
  });
  after(async () => {
    await chat?.close();
  });

  const property = fc.asyncProperty(fc.array(attack, { minLength: 1, maxLength: 25 }), async (attacks) => {
    const room = `fuzz-${++rooms}`;
    const victim = await Client.open(chat, room);
    await victim.joined();
    let attacker = await Client.open(chat, room);
    let attackerId = await attacker.joined();
    const expected: string[] = [];
    const keys = new Set<string>();
    for (const [index, hostile] of attacks.entries()) {
      if (attacker.closeCode !== null) {
        attacker = await Client.open(chat, room);
        attackerId = await attacker.joined();
      }
      const from = attacker.frames.length;
      const answer = expectedAnswer(hostile);
      if (hostile.kind === 'text') attacker.ws.send(hostile.text);
      else attacker.ws.send(hostile.bytes, { binary: hostile.kind === 'binary' });
      const sentMessage = answer.kind === 'accepted' && answer.frame.type === 'chat.message' ? answer.frame : null;
      if (sentMessage) {
        // Idempotency is per user id, and every attacker connection is a guest of its own.
        const key = sentMessage.clientId === undefined ? null : `${attackerId}:${sentMessage.clientId}`;
        if (key === null || !keys.has(key)) expected.push(sentMessage.message);
        if (key !== null) keys.add(key);
      }
      // A ping after each attack: its pong (or the close) says the attack has been answered; a
      // chat message's echo comes through the group, so wait for that too.
      if (attacker.ws.readyState === WebSocket.OPEN) attacker.ws.send('{"type":"ping"}');
      const pongsAwaited = answer.kind === 'accepted' && answer.frame.type === 'ping' ? 2 : 1;
      await attacker.untilFrames(
        (frames) =>
          frames.filter((frame) => frame === '{"type":"pong"}').length >= pongsAwaited &&
          (sentMessage === null || frames.map(parseServerFrame).some((frame) => frame !== null && isEchoOf(frame, sentMessage, attackerId))),
        from,
      );
      const answered: ServerFrame[] = [];
      for (const text of attacker.frames.slice(from)) {
        const frame = parseServerFrame(text);
        assert.ok(frame, `not a protocol frame: ${text.slice(0, 200)}`);
        if (!isBackground(frame, attackerId)) answered.push(frame);
      }
      // The last pong answers the sentinel ping, not the attack.
      const sentinel = answered.findLastIndex((frame) => frame.type === 'pong');
      if (attacker.closeCode === null && sentinel !== -1) answered.splice(sentinel, 1);
      const what = `${JSON.stringify(hostile).slice(0, 200)} was answered ${JSON.stringify(answered).slice(0, 300)}, close ${attacker.closeCode}`;
      if (answer.kind === 'close') {
        assert.equal(attacker.closeCode, answer.code, what);
        assert.deepEqual(answered, [], what);
      } else if (answer.kind === 'error') {
        assert.equal(attacker.closeCode, null, what);
        assert.equal(answered.length, 1, what);
        const [error] = answered;
        assert.ok(error?.type === 'error', what);
        assert.deepEqual([error.code, error.client_id], [answer.code, answer.clientId], what);
      } else {
        assert.equal(attacker.closeCode, null, what);
        const kinds = answered.map((frame) => frame.type);
        const type = answer.frame.type;
        if (type === 'chat.edit' || type === 'chat.delete' || type === 'chat.react') {
          // About a message that may or may not be there and be theirs: one answer, an event or a refusal.
          assert.equal(kinds.length, 1, what);
        } else {
          const promised = { 'chat.message': ['chat.message'], typing: [], history: ['history'], ping: ['pong'], read: [] }[type];
          assert.deepEqual(kinds, promised, what);
        }
      }

      // The well-behaved client goes on as if nothing happened.
      const mine = `valid ${index} 你好`;
      victim.ws.send(JSON.stringify({ type: 'chat.message', message: mine, client_id: `v${index}` }));
      expected.push(mine);
      assert.ok(await victim.until((frame) => frame.includes(`"client_id":"v${index}"`)), 'the victim was cut off');
    }
    const stored = (await chat.store.latest(room, 10_000)).messages.map((message) => message.text);
    assert.deepEqual([...stored].sort(), [...expected].sort());
    victim.ws.close();
    attacker.ws.close();
  });

  it('holds with a fixed seed', async () => {
    await fc.assert(property, { seed: 20_261_125, numRuns: 25 });
  });

  it('holds with a fresh seed', async () => {
    await fc.assert(property, { numRuns: 8 });
  });

  it('is still up and serving afterwards', async () => {
    const client = await Client.open(chat, 'after-fuzz');
    client.ws.send('{"message":"still here"}');
    assert.ok(await client.until((frame) => frame.includes('"message":"still here"')));
    client.ws.close();
  });
});

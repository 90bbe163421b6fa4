/**
 * Property-based: random and hostile frames thrown at the chat over real sockets, interleaved with
 * a well-behaved client's messages. Whatever comes, the server stays up, answers the attacker only
 * with frames of the protocol or a close code of the SPEC's table, the other client gets every
 * message, and the store holds exactly the messages that were valid.
 * A fixed seed runs every time; a short run with a fresh seed follows (printed when it fails).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import WebSocket from 'ws';
import { type ChatServer, startChatServer } from '../testing/chat-server';
import { MAX_MESSAGE_CHARS, parseServerFrame, validateClientFrame } from './protocol';

const MAX_FRAME_BYTES = 16 * 1024;
/** Closes an attack may cause: binary (1003), invalid UTF-8 (1007), oversized (1009). */
const ALLOWED_CLOSES = new Set([1003, 1007, 1009]);

type Attack =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'invalid-utf8'; readonly bytes: Uint8Array }
  | { readonly kind: 'binary'; readonly bytes: Uint8Array };

const hostileText: fc.Arbitrary<string> = fc.oneof(
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

/** The text a frame would be stored with, when the protocol accepts it as a chat message. */
function storedText(text: string): string | null {
  if (Buffer.byteLength(text) > MAX_FRAME_BYTES) return null;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  const parsed = validateClientFrame(value);
  return parsed.ok && parsed.frame.type === 'chat.message' ? parsed.frame.message : null;
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
  async until(match: (frame: string) => boolean, from = 0): Promise<boolean> {
    for (;;) {
      if (this.frames.slice(from).some(match)) return true;
      if (this.closeCode !== null) return false;
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
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
    let attacker = await Client.open(chat, room);
    const expected: string[] = [];
    const keys = new Set<string>();
    let connection = 0;
    for (const [index, hostile] of attacks.entries()) {
      if (attacker.closeCode !== null) {
        attacker = await Client.open(chat, room);
        connection++;
      }
      const from = attacker.frames.length;
      if (hostile.kind === 'text') {
        attacker.ws.send(hostile.text);
        const text = storedText(hostile.text);
        const clientId = (() => {
          try {
            return (JSON.parse(hostile.text) as { client_id?: unknown }).client_id;
          } catch {
            return undefined;
          }
        })();
        const key = typeof clientId === 'string' ? `${connection}:${clientId}` : null;
        if (text !== null && (key === null || !keys.has(key))) expected.push(text);
        if (key !== null && text !== null) keys.add(key);
      } else {
        attacker.ws.send(hostile.bytes, { binary: hostile.kind === 'binary' });
      }
      // A ping after each attack: its pong (or the close) says the attack has been answered.
      if (attacker.ws.readyState === WebSocket.OPEN) attacker.ws.send('{"type":"ping"}');
      await attacker.until((frame) => frame === '{"type":"pong"}', from);
      for (const frame of attacker.frames.slice(from)) assert.notEqual(parseServerFrame(frame), null, `not a protocol frame: ${frame.slice(0, 200)}`);
      if (attacker.closeCode !== null) assert.ok(ALLOWED_CLOSES.has(attacker.closeCode), `closed with ${attacker.closeCode}`);

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

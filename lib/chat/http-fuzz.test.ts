/**
 * Property-based: random and hostile bodies for the chat's HTTP routes (announce, notify, session
 * rename), of any bytes, JSON or not, any content type, any size around the caps, whole or in
 * chunks. Whatever comes: no 5xx; 415 for anything but JSON, 413 exactly when the body passes its
 * route's cap, having read at most one chunk past it (none when the length was declared); a
 * message stored, a notification sent or a session renamed only for a valid body, and then
 * exactly what it said. A fixed seed runs every time; a short run with a fresh seed follows.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  AllowedOrigins,
  InMemoryChannelLayer,
  SessionCookies,
  silentLogger,
} from 'next-channels';
import { ChatService } from './chat-service';
import { announce, notify, renameSession } from './http-routes';
import { normaliseDisplayName } from './identity';
import { ADMIN_BODY_MAX_BYTES, SESSION_BODY_MAX_BYTES } from './json-body';
import { userNotificationGroup } from './notifications';
import { validateClientFrame } from './protocol';
import type { ChatRuntime } from './runtime';
import { accessServices } from './access-services';
import { TEST_HASHER } from './passwords';
import { MemoryMessageStore } from './store/memory';

const TOKEN = 'fuzz-admin-token-0123456789';
const ORIGIN = 'http://localhost:3000';
const ROOM = 'fuzz';
const USER = 'u_fuzz';

type Route = 'announce' | 'notify' | 'rename';

interface Case {
  readonly route: Route;
  readonly contentType: string | null;
  readonly body: Uint8Array;
  /** Whole with its Content-Length declared, or in chunks of this many bytes with none. */
  readonly chunk: number | 'declared';
}

const CAPS: Record<Route, number> = { announce: ADMIN_BODY_MAX_BYTES, notify: ADMIN_BODY_MAX_BYTES, rename: SESSION_BODY_MAX_BYTES };
const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

/** Valid JSON of exactly `size` bytes (at least 20) for `route`, padded with an extra field. */
function sized(route: Route, size: number): Uint8Array {
  const base = { announce: { message: '长度' }, notify: { title: 't', body: 'b' }, rename: { name: 'Pad' } }[route];
  const empty = JSON.stringify({ ...base, pad: '' });
  return bytes(JSON.stringify({ ...base, pad: 'x'.repeat(Math.max(0, size - Buffer.byteLength(empty))) }));
}

const validBody = (route: Route): fc.Arbitrary<Uint8Array> =>
  ({
    announce: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 400 }).map((message) => bytes(JSON.stringify({ message }))),
    notify: fc
      .record({ title: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 200 }), body: fc.string({ unit: 'grapheme', maxLength: 400 }) })
      .map((value) => bytes(JSON.stringify(value))),
    rename: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }).map((name) => bytes(JSON.stringify({ name }))),
  })[route];

const body = (route: Route): fc.Arbitrary<Uint8Array> =>
  fc.oneof(
    { weight: 4, arbitrary: validBody(route) },
    { weight: 2, arbitrary: fc.json().map(bytes) },
    { weight: 2, arbitrary: fc.uint8Array({ maxLength: 200 }) },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 200 }).map(bytes) },
    { weight: 3, arbitrary: fc.integer({ min: -40, max: 40 }).map((delta) => sized(route, CAPS[route] + delta)) },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: 64 * 1024 }).map((size) => sized(route, size)) },
    { weight: 1, arbitrary: fc.nat({ max: 40_000 }).map((depth) => bytes(`${'['.repeat(depth)}${']'.repeat(depth)}`)) },
    { weight: 1, arbitrary: fc.nat({ max: 10_000 }).map((depth) => bytes(`{"name":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}`)) },
    // Invalid UTF-8 inside what is otherwise a valid body.
    { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 8 }).map((tail) => Uint8Array.from([...bytes('{"message":"'), 0xc3, 0x28, ...tail, ...bytes('"}')])) },
  );

const contentType: fc.Arbitrary<string | null> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('application/json', 'application/json; charset=utf-8', 'Application/JSON;charset=UTF-8') },
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      'text/plain',
      'text/plain;charset=UTF-8',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=----x',
      'application/jsonx',
      'application/ld+json',
      'json',
      null,
    ),
  },
  { weight: 1, arbitrary: fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)), maxLength: 40 }) },
);

const routeCase: fc.Arbitrary<Case> = fc
  .constantFrom<Route>('announce', 'notify', 'rename')
  .chain((route) =>
    fc.record({
      route: fc.constant(route),
      contentType,
      body: body(route),
      chunk: fc.oneof(fc.constant<'declared'>('declared'), fc.integer({ min: 1, max: 8_192 })),
    }),
  );

/** What the route must answer, worked out from the body alone. */
function expectedStatus({ route, contentType, body }: Case): number {
  if (!/^\s*application\/json\s*(;|$)/i.test(contentType ?? '')) return 415;
  if (body.length > CAPS[route]) return 413;
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
  } catch {
    return 400;
  }
  const object = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  if (route === 'announce') {
    const parsed = validateClientFrame(typeof value === 'object' && value !== null ? { message: object.message } : value);
    return parsed.ok && parsed.frame.type === 'chat.message' ? 201 : 400;
  }
  if (route === 'notify') {
    const { title, body: text } = object;
    const ok = typeof title === 'string' && title.trim() !== '' && typeof text === 'string' && [...title].length <= 200 && [...text].length <= 2000;
    return ok ? 202 : 400;
  }
  return normaliseDisplayName(object.name).ok ? 200 : 400;
}

function setUp() {
  const layer = new InMemoryChannelLayer();
  const sessions = new SessionCookies({ secret: 'http-fuzz-secret-0123456789abcdef' });
  const store = new MemoryMessageStore();
  const service = new ChatService({ store, layer, logger: silentLogger });
  const chat: ChatRuntime = { service, layer, sessions, allowedOrigins: AllowedOrigins.localDefaults(3000), adminToken: TOKEN, ...accessServices({ store, sessions, access: service.access, hasher: TEST_HASHER }) };
  const notifications: unknown[] = [];
  const channel = layer.newChannel();
  layer.attach(channel, { backlog: 0, deliver: (message) => notifications.push(message) });
  void layer.groupAdd(userNotificationGroup(USER), channel);
  return { chat, store, sessions, notifications };
}

describe('HTTP route bodies, fuzzed', () => {
  const { chat, store, sessions, notifications } = setUp();
  const cookie = `session=${sessions.sign({ id: USER, name: 'Fuzz' })}`;

  const property = fc.asyncProperty(routeCase, async (input) => {
    const { route, body, chunk } = input;
    let pulled = 0;
    let offset = 0;
    const size = chunk === 'declared' ? Math.max(1, body.length) : chunk;
    const stream = new ReadableStream<Uint8Array>(
      {
        pull(controller) {
          if (offset >= body.length) return controller.close();
          const piece = body.slice(offset, offset + size);
          offset += piece.length;
          pulled += piece.length;
          controller.enqueue(piece);
        },
      },
      { highWaterMark: 0 },
    );
    // The admin routes take the admin token; the session route its cookie (an Authorization header
    // would be read as the session's bearer token instead).
    const headers: Record<string, string> = route === 'rename' ? { cookie, origin: ORIGIN } : { authorization: `Bearer ${TOKEN}`, cookie, origin: ORIGIN };
    if (input.contentType !== null) headers['content-type'] = input.contentType;
    if (chunk === 'declared') headers['content-length'] = String(body.length);
    const request = new Request(`http://localhost:3000/api/${route}`, { method: 'POST', body: stream, headers, duplex: 'half' } as RequestInit);

    const storedBefore = (await store.latest(ROOM, 1)).messages[0]?.id;
    const notifiedBefore = notifications.length;
    const response = route === 'announce' ? await announce(request, ROOM, chat) : route === 'notify' ? await notify(request, USER, chat) : await renameSession(request, chat);
    const what = `${route} ${input.contentType} ${chunk} ${body.length} bytes: ${Buffer.from(body.slice(0, 120)).toString()}`;

    assert.ok(response.status < 500, `${what}: ${response.status}`);
    assert.equal(response.status, expectedStatus(input), what);
    // Nothing past the cap is read but the one chunk that crossed it; a declared excess, nothing.
    if (chunk === 'declared' && body.length > CAPS[route]) assert.equal(pulled, 0, what);
    assert.ok(pulled <= CAPS[route] + size, `${what}: read ${pulled}`);
    if (response.status >= 400) {
      const problem = (await response.json()) as { error?: unknown; detail?: unknown };
      assert.deepEqual([typeof problem.error, typeof problem.detail], ['string', 'string'], what);
    }

    const newest = (await store.latest(ROOM, 1)).messages[0];
    if (response.status === 201) {
      const sent = JSON.parse(new TextDecoder().decode(body)) as { message: string };
      assert.notEqual(newest?.id, storedBefore, what);
      assert.equal(newest?.text, sent.message, what);
    } else {
      assert.equal(newest?.id, storedBefore, `${what}: stored on ${response.status}`);
    }
    assert.equal(notifications.length - notifiedBefore, response.status === 202 ? 1 : 0, what);
    const renamedTo = /^session=([^;]+)/.exec(response.headers.get('set-cookie') ?? '')?.[1];
    if (response.status === 200) {
      const normalised = normaliseDisplayName((JSON.parse(new TextDecoder().decode(body)) as { name: unknown }).name);
      assert.ok(normalised.ok, what);
      assert.deepEqual((await sessions.read(`session=${renamedTo}`))?.user, { id: USER, name: normalised.name }, what);
    } else {
      assert.equal(renamedTo, undefined, what);
    }
  });

  it('holds with a fixed seed', async () => {
    await fc.assert(property, { seed: 20_261_204, numRuns: 400 });
  });

  it('holds with a fresh seed', async () => {
    await fc.assert(property, { numRuns: 60 });
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FallbackSocket, fallbackSocket } from './fallback-socket';
import { type EventStreamWriter, FakeFetch, FakeTimers, settle } from './test-doubles';

const OPEN_EVENT = 'event: open\ndata: {"connection":"c1","token":"secret","ping_ms":1000}\n\n';

interface Heard {
  opened: number;
  messages: unknown[];
  closes: Array<{ code: number; reason?: string }>;
  errors: number;
}

function setup(url = 'ws://example.test/ws/chat/lobby/?after=41') {
  const server = new FakeFetch();
  const timers = new FakeTimers();
  const socket = new FallbackSocket(url, { fetch: server.fetch, timers, now: () => timers.now });
  const heard: Heard = { opened: 0, messages: [], closes: [], errors: 0 };
  socket.onopen = () => heard.opened++;
  socket.onmessage = (event) => heard.messages.push(event.data);
  socket.onclose = (event) => heard.closes.push(event);
  socket.onerror = () => heard.errors++;
  return { server, timers, socket, heard };
}

/** A socket whose stream is open, with the server's end of the stream. */
async function opened(url?: string) {
  const context = setup(url);
  const stream: EventStreamWriter = context.server.last('sse').stream();
  stream.write(OPEN_EVENT);
  await settle();
  return { ...context, stream };
}

describe('FallbackSocket', () => {
  it('opens the stream with a POST to the socket URL as http, its query kept, and opens on the open event', async () => {
    const { server, socket, heard } = setup();
    assert.equal(socket.readyState, 0);
    const request = server.last('sse');
    assert.equal(request.url, 'http://example.test/ws/chat/lobby/?after=41&_channels=sse');
    assert.equal(request.init.method, 'POST');
    assert.equal(request.init.body, '{}');
    assert.equal(request.init.credentials, 'same-origin');
    assert.equal(request.init.cache, 'no-store');
    assert.ok(request.init.signal instanceof AbortSignal);
    assert.equal(request.headers['content-type'], 'application/json');
    assert.equal(request.headers.accept, 'text/event-stream');
    const stream = request.stream();
    stream.write(': hello\n\nevent: op');
    await settle();
    assert.equal(heard.opened, 0);
    stream.write(OPEN_EVENT.slice('event: op'.length) + 'data: {"type":"hi"}\n\ndata: 你好\n\n');
    await settle();
    assert.equal(socket.readyState, 1);
    assert.equal(heard.opened, 1);
    assert.deepEqual(heard.messages, ['{"type":"hi"}', '你好']);
  });

  it('uses https for a wss URL, and "?" for a URL without a query', () => {
    const { server } = setup('wss://example.test/ws/poll/');
    assert.equal(server.last('sse').url, 'https://example.test/ws/poll/?_channels=sse');
  });

  it('keeps one POST on the wire and sends the frames given meanwhile as the next batch', async () => {
    const { server, socket } = await opened();
    socket.send('a');
    socket.send('b');
    socket.send('c');
    await settle();
    assert.equal(server.to('send').length, 1);
    const first = server.last('send');
    assert.equal(first.url, 'http://example.test/ws/chat/lobby/?_channels=send');
    assert.deepEqual(first.body, { seq: 1, frames: ['a'] });
    assert.equal(first.headers['x-channels-connection'], 'c1');
    assert.equal(first.headers['x-channels-token'], 'secret');
    assert.equal(first.headers['content-type'], 'application/json');
    first.respond(204, { 'X-Channels-Next': '2' });
    await settle();
    assert.deepEqual(server.last('send').body, { seq: 2, frames: ['b', 'c'] });
    server.last('send').respond(204, { 'X-Channels-Next': '4' });
    await settle();
    assert.equal(server.to('send').length, 2);
    socket.send('d');
    assert.deepEqual(server.last('send').body, { seq: 4, frames: ['d'] });
  });

  it('keeps a batch to about 64 KiB of text, and always sends at least one frame', async () => {
    const { server, socket } = await opened();
    const big = 'x'.repeat(40 * 1024);
    const huge = '好'.repeat(30 * 1024); // 90 KiB of UTF-8
    socket.send('first');
    for (const frame of [big, big, huge, 'y']) socket.send(frame);
    server.last('send').respond(204, { 'X-Channels-Next': '2' });
    await settle();
    assert.deepEqual(server.last('send').body, { seq: 2, frames: [big] });
    server.last('send').respond(204, { 'X-Channels-Next': '3' });
    await settle();
    assert.deepEqual(server.last('send').body, { seq: 3, frames: [big] });
    server.last('send').respond(204, { 'X-Channels-Next': '4' });
    await settle();
    assert.deepEqual(server.last('send').body, { seq: 4, frames: [huge] });
    server.last('send').respond(204, { 'X-Channels-Next': '5' });
    await settle();
    assert.deepEqual(server.last('send').body, { seq: 5, frames: ['y'] });
  });

  it('sends the same batch again after a network error or a 502/503/504, waiting 250, 500 and 1000 ms', async () => {
    const { server, socket, timers, heard } = await opened();
    socket.send('a');
    server.last('send').fail();
    await settle();
    socket.send('b');
    timers.advance(249);
    assert.equal(server.to('send').length, 1);
    timers.advance(1);
    assert.deepEqual(server.last('send').body, { seq: 1, frames: ['a'] });
    server.last('send').respond(503);
    await settle();
    timers.advance(500);
    assert.deepEqual(server.last('send').body, { seq: 1, frames: ['a'] });
    server.last('send').respond(204, { 'X-Channels-Next': '2' });
    await settle();
    assert.deepEqual(server.last('send').body, { seq: 2, frames: ['b'] });
    // A success starts the count again: three more tries, then the socket is lost.
    for (const delay of [250, 500, 1_000]) {
      server.last('send').respond(502);
      await settle();
      timers.advance(delay);
      assert.deepEqual(server.last('send').body, { seq: 2, frames: ['b'] });
    }
    server.last('send').respond(504);
    await settle();
    assert.equal(server.to('send').length, 7);
    assert.deepEqual(heard.closes, [{ code: 1006, reason: '' }]);
    assert.equal(heard.errors, 1);
    assert.equal(socket.readyState, 3);
    assert.equal(timers.pending, 0);
  });

  it('waits a second after a 429 and sends the batch again with what came meanwhile, without closing', async () => {
    const { server, socket, timers, heard } = await opened();
    socket.send('a');
    server.last('send').respond(429);
    await settle();
    socket.send('b');
    timers.advance(999);
    assert.equal(server.to('send').length, 1);
    timers.advance(1);
    assert.deepEqual(server.last('send').body, { seq: 1, frames: ['a', 'b'] });
    server.last('send').respond(204, { 'X-Channels-Next': '3' });
    await settle();
    assert.deepEqual(heard.closes, []);
    assert.equal(socket.readyState, 1);
  });

  it('goes on from the frame the server expects after a 409', async () => {
    const { server, socket } = await opened();
    socket.send('a');
    socket.send('b');
    socket.send('c');
    server.last('send').respond(204, { 'X-Channels-Next': '2' });
    await settle();
    // The server took b in a batch whose answer was lost.
    server.last('send').respond(409, { 'Content-Type': 'application/json' }, '{"expected":3}');
    await settle();
    assert.deepEqual(server.last('send').body, { seq: 3, frames: ['c'] });
  });

  it('closes with 1006 on a 409 that asks for frames it no longer has, and on a refusal', async () => {
    for (const [status, body] of [
      [409, '{"expected":0}'],
      [403, null],
      [410, null],
      [413, null],
    ] as const) {
      const { server, socket, heard } = await opened();
      socket.send('a');
      server.last('send').respond(status, {}, body);
      await settle();
      assert.deepEqual(heard.closes, [{ code: 1006, reason: '' }], `after ${status}`);
      assert.ok(server.last('sse').settled);
    }
  });

  it("reports the server's close event with its code and reason, and stops reading", async () => {
    const { socket, stream, heard } = await opened();
    stream.write('event: close\ndata: {"code":4401,"reason":"session ended"}\n\ndata: after the close\n\n');
    await settle();
    assert.equal(socket.readyState, 3);
    assert.deepEqual(heard.closes, [{ code: 4401, reason: 'session ended' }]);
    assert.deepEqual(heard.messages, []);
    assert.equal(heard.errors, 0);
    assert.ok(stream.aborted);
  });

  it('reports 1006 when the stream ends without a close event', async () => {
    const { socket, stream, heard } = await opened();
    stream.end();
    await settle();
    assert.equal(socket.readyState, 3);
    assert.deepEqual(heard.closes, [{ code: 1006, reason: '' }]);
    assert.equal(heard.errors, 1);
  });

  it('reports 1006 when the stream is refused, cannot be reached, or is not an event stream', async () => {
    const answers = [
      (request: ReturnType<FakeFetch['last']>) => request.respond(403),
      (request: ReturnType<FakeFetch['last']>) => request.respond(503),
      (request: ReturnType<FakeFetch['last']>) => request.fail(),
      (request: ReturnType<FakeFetch['last']>) => request.respond(200, { 'Content-Type': 'text/html' }, '<html>'),
    ];
    for (const answer of answers) {
      const { server, socket, heard } = setup();
      answer(server.last('sse'));
      await settle();
      assert.equal(socket.readyState, 3);
      assert.deepEqual(heard.closes, [{ code: 1006, reason: '' }]);
      assert.equal(heard.opened, 0);
    }
  });

  it('answers a ping with an empty batch, unless a POST went out within half the ping interval', async () => {
    const { server, socket, stream, timers } = await opened();
    stream.write('event: ping\ndata:\n\n');
    await settle();
    assert.deepEqual(server.last('send').body, { seq: 1, frames: [] });
    server.last('send').respond(204, { 'X-Channels-Next': '1' });
    await settle();
    timers.advance(499); // ping_ms is 1000
    stream.write('event: ping\n\n');
    await settle();
    assert.equal(server.to('send').length, 1);
    socket.send('a');
    server.last('send').respond(204, { 'X-Channels-Next': '2' });
    await settle();
    timers.advance(500);
    stream.write('event: ping\n\n');
    await settle();
    assert.deepEqual(server.last('send').body, { seq: 2, frames: [] });
  });

  it('tells the server of a close with a keepalive POST, stops the stream, and reports the code after', async () => {
    const { server, socket, stream, heard } = await opened();
    socket.send('a');
    socket.close(4000, 'moving on');
    assert.equal(socket.readyState, 3);
    assert.deepEqual(heard.closes, [], 'reported at once, inside close()');
    const request = server.last('send');
    assert.deepEqual(request.body, { seq: 2, frames: [], close: 4000 });
    assert.equal(request.init.keepalive, true);
    assert.equal(request.headers['x-channels-token'], 'secret');
    assert.ok(stream.aborted);
    await settle();
    assert.deepEqual(heard.closes, [{ code: 4000, reason: 'moving on' }]);
    assert.equal(heard.errors, 0);
    socket.send('ignored once closed');
    socket.close();
    assert.equal(server.to('send').length, 2);
  });

  it('closes with 1000 by default, and with 1006 and no POST while still connecting', async () => {
    const open = await opened();
    open.socket.close();
    assert.deepEqual(open.server.last('send').body, { seq: 1, frames: [], close: 1000 });
    await settle();
    assert.deepEqual(open.heard.closes, [{ code: 1000, reason: '' }]);

    const connecting = setup();
    assert.throws(() => connecting.socket.send('too early'), (error: unknown) => error instanceof DOMException && error.name === 'InvalidStateError');
    connecting.socket.close();
    await settle();
    assert.deepEqual(connecting.heard.closes, [{ code: 1006, reason: '' }]);
    assert.equal(connecting.server.to('send').length, 0);
    assert.ok(connecting.server.last('sse').settled, 'the stream request was aborted');
  });

  it('goes on reading when a handler throws', async () => {
    const { stream, socket, heard } = await opened();
    const thrown: unknown[] = [];
    const original = globalThis.reportError;
    globalThis.reportError = (error: unknown) => thrown.push(error);
    try {
      socket.onmessage = (event) => {
        heard.messages.push(event.data);
        throw new Error('a broken handler');
      };
      stream.write('data: 1\n\ndata: 2\n\n');
      await settle();
    } finally {
      globalThis.reportError = original;
    }
    assert.deepEqual(heard.messages, ['1', '2']);
    assert.equal(thrown.length, 2);
    assert.equal(socket.readyState, 1);
  });

  it('is made by fallbackSocket, which fits a socket factory once its options are bound', () => {
    const server = new FakeFetch();
    const create = (url: string) => fallbackSocket(url, { fetch: server.fetch });
    const socket = create('ws://example.test/ws/x/');
    assert.ok(socket instanceof FallbackSocket);
    assert.equal(socket.url, 'ws://example.test/ws/x/');
    socket.close();
  });
});

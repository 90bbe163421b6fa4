import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Frames } from '../protocol';
import { type ChannelSocketOptions, ChannelSocket, RequestError } from './channel-socket';
import { FakeTimers, socketFactory } from './test-doubles';

type Poll = {
  client: Frames<{ vote: { option: string }; tally: object }>;
  server: Frames<{ votes: { counts: Record<string, number> } }>;
  replies: { tally: { total: number } };
};

function setup(options: Partial<ChannelSocketOptions> = {}) {
  const timers = new FakeTimers();
  const factory = socketFactory();
  const attempts: number[] = [];
  const socket = new ChannelSocket<Poll>({
    url: 'ws://example.test/ws/poll/',
    createSocket: factory.create,
    timers,
    now: () => timers.now,
    wakeUpSignals: () => () => {},
    backoff: (attempt) => {
      attempts.push(attempt);
      return 1_000 * attempt;
    },
    ...options,
  });
  return { timers, factory, socket, attempts };
}

describe('ChannelSocket', () => {
  it('goes from connecting to open, and adds the resume parameters to every attempt', () => {
    let after: string | null = null;
    const { socket, factory, timers } = setup({ resume: () => ({ after }) });
    const statuses: string[] = [];
    socket.subscribe(() => statuses.push(socket.getSnapshot().status));
    socket.connect();
    assert.equal(factory.last.url, 'ws://example.test/ws/poll/');
    factory.last.open();
    assert.equal(socket.getSnapshot().status, 'open');
    after = '42';
    factory.last.drop(1006);
    const snapshot = socket.getSnapshot();
    assert.equal(snapshot.status, 'reconnecting');
    assert.equal(snapshot.retryAt, timers.now + 1_000);
    timers.advance(1_000);
    assert.equal(factory.last.url, 'ws://example.test/ws/poll/?after=42');
    assert.deepEqual(statuses.slice(0, 3), ['connecting', 'open', 'reconnecting']);
  });

  it('stops on a final close and says why, with no further attempts', () => {
    const { socket, factory, timers } = setup();
    socket.connect();
    factory.last.open();
    factory.last.drop(4401, 'sign in');
    assert.deepEqual(
      { status: socket.getSnapshot().status, code: socket.getSnapshot().closeCode, reason: socket.getSnapshot().closeReason },
      { status: 'closed', code: 4401, reason: 'sign in' },
    );
    timers.advance(10 * 60_000);
    assert.equal(factory.sockets.length, 1);
    assert.equal(timers.pending, 0);
  });

  it('backs off more after each failure, and counts an open that did not last as one', () => {
    const { socket, factory, timers, attempts } = setup({ stableAfterMs: 5_000 });
    socket.connect();
    factory.last.drop(1006); // refused handshake
    timers.advance(1_000);
    factory.last.open();
    factory.last.drop(1011); // accepted, then a crash at once
    timers.advance(2_000);
    factory.last.open();
    timers.advance(5_000);
    factory.last.drop(1001); // open long enough: the next try is the first again
    assert.deepEqual(attempts, [1, 2, 1]);
    assert.equal(socket.getSnapshot().failures, 1);
  });

  it('pings a quiet line with the framework frame and reconnects when no answer comes', () => {
    const { socket, factory, timers } = setup({ pingAfterMs: 100, pongTimeoutMs: 50 });
    socket.connect();
    factory.last.open();
    timers.advance(100);
    assert.deepEqual(factory.last.sent, ['{"$":"ping"}']);
    factory.last.receive({ $: 'pong' });
    timers.advance(100);
    assert.equal(factory.last.sent.length, 2);
    timers.advance(50);
    assert.equal(socket.getSnapshot().status, 'reconnecting');
    assert.equal(factory.sockets[0]!.closedWith, 4000);
  });

  it('gives up a handshake that hangs', () => {
    const { socket, factory, timers } = setup({ connectTimeoutMs: 300 });
    socket.connect();
    timers.advance(300);
    assert.equal(socket.getSnapshot().status, 'reconnecting');
    assert.equal(factory.last.closedWith, 4000);
  });

  it('answers a request with the reply of its ref, and rejects on an error reply', async () => {
    const { socket, factory } = setup();
    socket.connect();
    factory.last.open();
    const answer = socket.request({ type: 'tally' });
    const wire = factory.last.sentFrames[0]!;
    assert.equal(wire.$, 'req');
    assert.deepEqual(JSON.parse(wire.text as string), { type: 'tally' });
    factory.last.receive({ $: 'reply', ref: wire.ref, ok: true, body: { total: 3 } });
    assert.deepEqual(await answer, { total: 3 });
    const refused = socket.request({ type: 'vote', option: 'x' });
    const ref = factory.last.sentFrames[1]!.ref;
    factory.last.receive({ $: 'reply', ref, ok: false, code: 'invalid_frame', detail: 'no such option' });
    await assert.rejects(refused, (error: unknown) => error instanceof RequestError && error.code === 'invalid_frame');
  });

  it('rejects a request on timeout, on a lost connection, and at once while offline', async () => {
    const { socket, factory, timers } = setup({ requestTimeoutMs: 500 });
    await assert.rejects(socket.request({ type: 'tally' }), (error: unknown) => (error as RequestError).code === 'disconnected');
    socket.connect();
    factory.last.open();
    const slow = socket.request({ type: 'tally' });
    timers.advance(500);
    await assert.rejects(slow, (error: unknown) => (error as RequestError).code === 'timeout');
    const cut = socket.request({ type: 'tally' });
    factory.last.drop(1006);
    await assert.rejects(cut, (error: unknown) => (error as RequestError).code === 'disconnected');
  });

  it('keeps frames and requests while offline with the keep policy, and sends them again after a reconnect', async () => {
    const { socket, factory, timers } = setup({ offline: 'keep', maxKept: 3 });
    socket.connect();
    assert.equal(socket.send({ type: 'vote', option: 'tea' }), true);
    const answer = socket.request({ type: 'tally' });
    factory.last.open();
    assert.deepEqual(factory.last.sentFrames.map((frame) => frame.type ?? frame.$), ['vote', 'req']);
    factory.last.drop(1006); // the request was on the wire: kept, sent again
    timers.advance(1_000);
    factory.last.open();
    const again = factory.last.sentFrames[0]!;
    assert.equal(again.$, 'req');
    factory.last.receive({ $: 'reply', ref: again.ref, ok: true, body: { total: 1 } });
    assert.deepEqual(await answer, { total: 1 });
    factory.last.drop(1006);
    for (let i = 0; i < 3; i++) assert.equal(socket.send({ type: 'vote', option: `${i}` }), true);
    assert.equal(socket.send({ type: 'vote', option: 'one too many' }), false);
  });

  it('drops frames sent while offline by default', () => {
    const { socket, factory } = setup();
    socket.connect();
    assert.equal(socket.send({ type: 'vote', option: 'tea' }), false);
    factory.last.open();
    assert.deepEqual(factory.last.sent, []);
  });

  it('refuses an application frame that would read as a framework frame', () => {
    const { socket } = setup();
    assert.throws(() => socket.send({ type: 'vote', option: 'x', $: 'ping' } as never), TypeError);
  });

  it('keeps presence lists from the full list and the diffs, and forgets them on disconnect', () => {
    const { socket, factory } = setup();
    const heard: string[] = [];
    socket.onPresence((group) => heard.push(group));
    socket.connect();
    factory.last.open();
    factory.last.receive({ $: 'presence', group: 'poll', entries: [{ key: 'b', meta: { name: 'Bo' } }, { key: 'a', meta: { name: 'Al' } }] });
    assert.deepEqual(socket.presence('poll').map((entry) => entry.key), ['a', 'b']);
    factory.last.receive({ $: 'presence_diff', group: 'poll', joins: [{ key: 'c', meta: {} }, { key: 'a', meta: { name: 'Alan' } }], leaves: ['b'] });
    assert.deepEqual(socket.presence('poll'), [{ key: 'a', meta: { name: 'Alan' } }, { key: 'c', meta: {} }]);
    factory.last.drop(1006);
    assert.deepEqual(socket.presence('poll'), []);
    assert.deepEqual(heard, ['poll', 'poll', 'poll']);
  });

  it('hands typed frames to listeners by type and remembers the latest of each', () => {
    const { socket, factory } = setup();
    const counts: number[] = [];
    socket.on('votes', (frame) => counts.push(frame.counts.tea ?? 0));
    socket.connect();
    factory.last.open();
    factory.last.receive({ type: 'votes', counts: { tea: 2 } });
    factory.last.receive({ type: 'other' });
    factory.last.receive({ $: 'pong' });
    assert.deepEqual(counts, [2]);
    assert.deepEqual(socket.latest('votes'), { type: 'votes', counts: { tea: 2 } });
  });

  it('stays open while held, and closes after the last release (not at an unmount-and-mount)', () => {
    const { socket, factory, timers } = setup();
    socket.hold();
    socket.release();
    socket.hold(); // StrictMode mounts again before the release's timer runs
    timers.advance(0);
    assert.equal(factory.sockets.length, 1);
    assert.equal(socket.getSnapshot().status, 'connecting');
    socket.release();
    timers.advance(0);
    assert.equal(socket.getSnapshot().status, 'closed');
    assert.equal(factory.last.closedWith, 1000);
  });

  it('is not connected again by a new holder after a final close, only by reconnect()', () => {
    const { socket, factory, timers } = setup();
    socket.hold();
    factory.last.open();
    factory.last.drop(4401, 'sign in');
    // A page that shows its sign-in form in place of the parts that held the socket.
    socket.release();
    socket.hold();
    timers.advance(60_000);
    assert.equal(factory.sockets.length, 1);
    assert.equal(socket.getSnapshot().closeCode, 4401);
    socket.reconnect();
    assert.equal(factory.sockets.length, 2);
    assert.deepEqual([socket.getSnapshot().status, socket.getSnapshot().closeCode], ['connecting', null]);
  });

  it('keeps at most maxInFlight requests on the wire, sending the rest as answers come', async () => {
    const { socket, factory } = setup({ maxInFlight: 2 });
    socket.connect();
    factory.last.open();
    const answers = [1, 2, 3, 4, 5].map(() => socket.request({ type: 'tally' }));
    const refs = (): unknown[] => factory.last.sentFrames.map((frame) => frame.ref);
    assert.equal(refs().length, 2);
    for (let answered = 0; answered < 5; answered++) {
      factory.last.receive({ $: 'reply', ref: refs()[answered], ok: true, body: { total: answered } });
      assert.equal(refs().length, Math.min(5, answered + 3));
    }
    assert.deepEqual(await Promise.all(answers), [0, 1, 2, 3, 4].map((total) => ({ total })));
  });

  it('drops what was kept, and refuses more, once the server closed for good', async () => {
    const { socket, factory, timers } = setup({ offline: 'keep' });
    socket.connect();
    factory.last.open();
    factory.last.drop(1006);
    assert.equal(socket.send({ type: 'vote', option: 'typed by the one signed out' }), true);
    timers.advance(1_000);
    factory.last.drop(4401, 'session ended'); // refused, after accepting, before it opened here
    assert.equal(socket.getSnapshot().closeCode, 4401);
    assert.equal(socket.send({ type: 'vote', option: 'after the close' }), false);
    await assert.rejects(socket.request({ type: 'tally' }), (error: unknown) => (error as RequestError).code === 'closed');
    socket.reconnect();
    factory.last.open();
    assert.deepEqual(factory.last.sent, [], 'what the signed-out person typed went out on the new connection');
  });

  it('goes on reconnecting and hearing when a listener throws, and reports the error', () => {
    const errors: unknown[] = [];
    const { socket, factory, timers } = setup({ reportError: (error) => errors.push(error) });
    const heard: string[] = [];
    socket.subscribe(() => {
      throw new Error('a broken listener');
    });
    socket.onText(() => {
      throw new Error('another');
    });
    socket.onText((text) => heard.push(text));
    socket.connect();
    factory.last.open();
    factory.last.receive({ type: 'votes', counts: {} });
    factory.last.drop(1006);
    timers.advance(1_000);
    assert.equal(factory.sockets.length, 2);
    assert.deepEqual(heard, ['{"type":"votes","counts":{}}']);
    assert.ok(errors.length >= 4);
  });

  it('can be given up as stuck by the app, and reconnects after the backoff', () => {
    const { socket, factory, timers } = setup();
    socket.connect();
    factory.last.open();
    socket.dropConnection();
    assert.equal(socket.getSnapshot().status, 'reconnecting');
    timers.advance(1_000);
    assert.equal(factory.sockets.length, 2);
  });
});

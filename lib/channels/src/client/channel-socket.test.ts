import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Frames } from '../protocol';
import { type ChannelSocketOptions, ChannelSocket, RequestError } from './channel-socket';
import { fallbackSocket } from './fallback-socket';
import { FakeFetch, FakeTimers, settle, socketFactory } from './test-doubles';
import { memoryTransportMemory, type UpgradeProbe } from './transport-choice';

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

/** A probe the test answers, one call at a time. */
function probeDouble() {
  const calls: Array<{ wsUrl: string; answer: (result: UpgradeProbe) => void }> = [];
  return {
    calls,
    probe: (wsUrl: string) => new Promise<UpgradeProbe>((answer) => calls.push({ wsUrl, answer })),
    /** Answers the latest call, and lets the socket act on it. */
    async answer(result: UpgradeProbe): Promise<void> {
      const call = calls.at(-1);
      if (!call) throw new Error('no probe ran');
      call.answer(result);
      await settle();
    },
  };
}

const REMEMBER_MS = 15 * 60_000;

function fallbackSetup(options: Partial<ChannelSocketOptions> = {}) {
  const fallbacks = socketFactory();
  const probe = probeDouble();
  const memory = memoryTransportMemory();
  const context = setup({ createFallback: fallbacks.create, probe: probe.probe, transportMemory: memory, confirmBlockedMs: 0, ...options });
  return { ...context, fallbacks, probe, memory };
}

describe('ChannelSocket over the HTTP fallback', () => {
  it('moves to the fallback at once when the probe finds the upgrade blocked, without counting another failure', async () => {
    const { socket, factory, fallbacks, probe, memory, timers, attempts } = fallbackSetup({ resume: () => ({ after: '41' }) });
    socket.connect();
    factory.last.drop(1006);
    assert.deepEqual(probe.calls.map((call) => call.wsUrl), ['ws://example.test/ws/poll/']);
    assert.equal(socket.getSnapshot().failures, 1);
    await probe.answer('blocked');
    await probe.answer('blocked'); // the confirmation
    assert.equal(memory.get(), timers.now + REMEMBER_MS);
    assert.equal(fallbacks.sockets.length, 1);
    assert.equal(fallbacks.last.url, 'ws://example.test/ws/poll/?after=41');
    const snapshot = socket.getSnapshot();
    assert.deepEqual([snapshot.status, snapshot.transport, snapshot.failures, snapshot.retryAt], ['reconnecting', 'fallback', 1, null]);
    timers.advance(5_000); // past the backoff's delay, whose timer was cancelled; before the connect timeout
    assert.equal(factory.sockets.length, 1);
    fallbacks.last.open();
    assert.deepEqual([socket.getSnapshot().status, socket.getSnapshot().transport], ['open', 'fallback']);
    assert.deepEqual(attempts, [1]);
  });

  it('moves only when the upgrade looks blocked twice, confirmBlockedMs apart: a restart can look blocked once', async () => {
    const { socket, factory, fallbacks, probe, memory, timers } = fallbackSetup({ confirmBlockedMs: 2_000 });
    socket.connect();
    factory.last.drop(1006);
    await probe.answer('blocked');
    assert.equal(probe.calls.length, 1, 'the second probe waits');
    timers.advance(1_999);
    await settle();
    assert.equal(probe.calls.length, 1);
    timers.advance(1);
    await settle();
    assert.equal(probe.calls.length, 2);
    await probe.answer('reachable');
    assert.equal(fallbacks.sockets.length, 0);
    assert.equal(memory.get(), null);
    assert.equal(socket.getSnapshot().transport, 'websocket');
  });

  it("takes another socket's finding from the shared memory: no probe of its own, on the fallback at once", async () => {
    // Found while this socket waited to confirm: no second probe.
    const waiting = fallbackSetup({ confirmBlockedMs: 2_000 });
    waiting.socket.connect();
    waiting.factory.last.drop(1006);
    await waiting.probe.answer('blocked');
    const until = waiting.timers.now + 60_000;
    waiting.memory.set(until);
    waiting.timers.advance(2_000);
    await settle();
    assert.equal(waiting.probe.calls.length, 1);
    assert.equal(waiting.fallbacks.sockets.length, 1);
    assert.equal(waiting.factory.sockets.length, 1);
    assert.equal(waiting.memory.get(), until, 'the other socket\'s time is kept');

    // Found before this socket's refusal: no probe at all, and no waiting for the backoff.
    const late = fallbackSetup({ confirmBlockedMs: 2_000 });
    late.socket.connect();
    late.memory.set(late.timers.now + 60_000);
    late.factory.last.drop(1006);
    await settle();
    assert.equal(late.probe.calls.length, 0);
    assert.deepEqual([late.fallbacks.sockets.length, late.socket.getSnapshot().transport], [1, 'fallback']);
  });

  it('shares one finding among the sockets of one memory: the second waits for it, probes nothing, and moves with the first', async () => {
    const first = fallbackSetup({ confirmBlockedMs: 2_000 });
    const second = setup({ createFallback: first.fallbacks.create, probe: first.probe.probe, transportMemory: first.memory, confirmBlockedMs: 2_000, timers: first.timers, now: () => first.timers.now });
    first.socket.connect();
    first.factory.last.drop(1006);
    await first.probe.answer('blocked');
    // Refused while the first waits to confirm: on its own it would probe now, and again 2 s later.
    second.socket.connect();
    second.factory.last.drop(1006);
    await settle();
    assert.equal(first.probe.calls.length, 1);
    first.timers.advance(2_000);
    await settle();
    assert.equal(first.probe.calls.length, 2);
    await first.probe.answer('blocked');
    assert.equal(first.probe.calls.length, 2, 'one finding, two probes, for both sockets');
    assert.deepEqual([first.socket.getSnapshot().transport, second.socket.getSnapshot().transport], ['fallback', 'fallback']);
    assert.equal(first.fallbacks.sockets.length, 2);
    assert.equal(second.factory.sockets.length, 2, 'its backoff went on meanwhile, on WebSocket');
  });

  it('a finding goes on for the sockets that wait for it when the one that started it closes', async () => {
    const first = fallbackSetup({ confirmBlockedMs: 2_000 });
    const second = setup({ createFallback: first.fallbacks.create, probe: first.probe.probe, transportMemory: first.memory, timers: first.timers, now: () => first.timers.now });
    first.socket.connect();
    first.factory.last.drop(1006);
    second.socket.connect();
    second.factory.last.drop(1006);
    await first.probe.answer('blocked');
    first.socket.close(); // a room left: its socket goes, the page's other socket still waits
    first.timers.advance(2_000);
    await settle();
    assert.equal(first.probe.calls.length, 2, 'the confirmation still goes');
    await first.probe.answer('blocked');
    assert.equal(first.memory.get(), first.timers.now + REMEMBER_MS);
    assert.deepEqual([second.socket.getSnapshot().status, second.socket.getSnapshot().transport], ['reconnecting', 'fallback']);
    assert.equal(first.fallbacks.sockets.length, 1, 'the closed socket stays closed');
  });

  it('a socket reconnected while a finding is under way joins it with its new attempt', async () => {
    const { socket, factory, fallbacks, probe, timers } = fallbackSetup({ confirmBlockedMs: 2_000 });
    socket.connect();
    factory.last.drop(1006);
    await probe.answer('blocked');
    socket.reconnect(); // a new session, say: the earlier attempt's finding is not about this one
    factory.last.drop(1006);
    timers.advance(2_000);
    await settle();
    await probe.answer('blocked');
    assert.equal(probe.calls.length, 2);
    assert.deepEqual([socket.getSnapshot().transport, fallbacks.sockets.length], ['fallback', 1]);
  });

  it('a socket that joined a finding which came to nothing probes on its own at its next refusal', async () => {
    const first = fallbackSetup();
    const second = setup({ createFallback: first.fallbacks.create, probe: first.probe.probe, transportMemory: first.memory, confirmBlockedMs: 0, timers: first.timers, now: () => first.timers.now });
    first.socket.connect();
    first.factory.last.drop(1006);
    second.socket.connect();
    second.factory.last.drop(1006);
    await first.probe.answer('down');
    assert.equal(first.probe.calls.length, 1);
    assert.equal(second.socket.getSnapshot().transport, 'websocket');
    first.timers.advance(1_000);
    second.factory.last.drop(1006);
    assert.equal(first.probe.calls.length, 2);
  });

  it('goes on backing off on WebSocket when the probe says the server is down (a restart)', async () => {
    const { socket, factory, fallbacks, probe, memory, timers } = fallbackSetup();
    socket.connect();
    factory.last.drop(1006);
    await probe.answer('down');
    timers.advance(1_000);
    assert.equal(factory.sockets.length, 2);
    assert.equal(fallbacks.sockets.length, 0);
    assert.equal(memory.get(), null);
    assert.equal(socket.getSnapshot().transport, 'websocket');
  });

  it('stays on WebSocket when the probe gets through, and probes again at the next refusal', async () => {
    const { socket, factory, fallbacks, probe, timers } = fallbackSetup();
    socket.connect();
    factory.last.drop(1006);
    await probe.answer('reachable');
    timers.advance(1_000);
    assert.equal(fallbacks.sockets.length, 0);
    factory.last.drop(1006);
    assert.equal(probe.calls.length, 2);
  });

  it('probes after a handshake that hangs, but not after a connection that was open, nor one closed with a code', async () => {
    const { socket, factory, probe, timers } = fallbackSetup({ connectTimeoutMs: 300 });
    socket.connect();
    factory.last.open();
    factory.last.drop(1006);
    timers.advance(1_000);
    factory.last.drop(1011);
    assert.equal(probe.calls.length, 0);
    timers.advance(2_000);
    timers.advance(300);
    assert.equal(probe.calls.length, 1);
  });

  it('runs one probe at a time, and acts on its answer while a newer attempt is still connecting', async () => {
    const { socket, factory, fallbacks, probe, timers } = fallbackSetup();
    socket.connect();
    factory.last.drop(1006);
    timers.advance(1_000);
    factory.last.drop(1006);
    timers.advance(2_000);
    assert.equal(probe.calls.length, 1);
    assert.equal(factory.sockets.length, 3);
    await probe.answer('blocked');
    await probe.answer('blocked'); // the confirmation
    assert.equal(factory.sockets[2]!.closedWith, 4000, 'the WebSocket attempt under way was given up');
    assert.equal(fallbacks.sockets.length, 1);
    assert.equal(socket.getSnapshot().failures, 2);
  });

  it("ignores a probe's answer that comes after close(), reconnect() or a newer attempt that opened", async () => {
    for (const after of ['close', 'reconnect', 'opened'] as const) {
      const { socket, factory, fallbacks, probe, memory, timers } = fallbackSetup();
      socket.connect();
      factory.last.drop(1006);
      if (after === 'close') socket.close();
      if (after === 'reconnect') socket.reconnect();
      if (after === 'opened') {
        timers.advance(1_000);
        factory.last.open();
      }
      await probe.answer('blocked');
      assert.equal(fallbacks.sockets.length, 0, after);
      assert.equal(memory.get(), null, after);
    }
  });

  it('connects over the fallback while the memory holds a time to come, and tries WebSocket first once it has passed', () => {
    const remembered = fallbackSetup();
    remembered.memory.set(remembered.timers.now + 60_000);
    remembered.socket.connect();
    assert.equal(remembered.factory.sockets.length, 0);
    assert.equal(remembered.fallbacks.sockets.length, 1);
    assert.equal(remembered.socket.getSnapshot().transport, 'fallback');

    const expired = fallbackSetup();
    expired.memory.set(expired.timers.now - 1);
    expired.socket.connect();
    assert.equal(expired.factory.sockets.length, 1);
    assert.equal(expired.fallbacks.sockets.length, 0);
    assert.equal(expired.socket.getSnapshot().transport, 'websocket');
  });

  it('probes again while on the fallback, and goes back to WebSocket once one gets through', async () => {
    // The fake socket answers no ping: the heartbeat is kept out of the way.
    const { socket, factory, fallbacks, probe, memory, timers } = fallbackSetup({ pingAfterMs: REMEMBER_MS * 4 });
    memory.set(timers.now + REMEMBER_MS);
    socket.connect();
    fallbacks.last.open();
    timers.advance(REMEMBER_MS - 1);
    assert.equal(probe.calls.length, 0);
    timers.advance(1);
    assert.equal(probe.calls.length, 1);
    await probe.answer('blocked');
    assert.equal(memory.get(), timers.now + REMEMBER_MS, 'still blocked: remembered for longer');
    assert.equal(socket.getSnapshot().transport, 'fallback');
    timers.advance(REMEMBER_MS);
    assert.equal(probe.calls.length, 2);
    await probe.answer('reachable');
    assert.equal(memory.get(), null);
    assert.equal(fallbacks.last.closedWith, 4000);
    assert.equal(factory.sockets.length, 1);
    assert.equal(socket.getSnapshot().transport, 'websocket');
    factory.last.open();
    assert.deepEqual([socket.getSnapshot().status, socket.getSnapshot().transport], ['open', 'websocket']);
  });

  it('does not probe again on the fallback once the connection is gone', async () => {
    const { socket, fallbacks, probe, memory, timers } = fallbackSetup({ pingAfterMs: REMEMBER_MS * 2 });
    memory.set(timers.now + REMEMBER_MS * 10);
    socket.connect();
    fallbacks.last.open();
    fallbacks.last.drop(1006);
    timers.advance(REMEMBER_MS);
    assert.equal(probe.calls.length, 0, 'a fallback refused is not a blocked upgrade, and the re-probe timer went with the connection');
    assert.ok(fallbacks.sockets.length > 1);
  });

  it('stops on a final close code over the fallback, as over WebSocket', () => {
    const { socket, fallbacks, probe, timers } = fallbackSetup({ fallback: 'only' });
    assert.equal(socket.getSnapshot().transport, 'fallback');
    socket.connect();
    fallbacks.last.open();
    fallbacks.last.drop(4401, 'session ended');
    assert.deepEqual([socket.getSnapshot().status, socket.getSnapshot().closeCode, socket.getSnapshot().closeReason], ['closed', 4401, 'session ended']);
    timers.advance(60 * 60_000);
    assert.equal(fallbacks.sockets.length, 1);
    assert.equal(probe.calls.length, 0);
    assert.equal(timers.pending, 0);
  });

  it('never uses the fallback when given createSocket alone, or with fallback off', () => {
    for (const options of [{}, { fallback: 'off' as const, createFallback: socketFactory().create }]) {
      const probe = probeDouble();
      const { socket, factory, timers } = setup({ probe: probe.probe, transportMemory: memoryTransportMemory(), ...options });
      socket.connect();
      factory.last.drop(1006);
      timers.advance(1_000);
      assert.equal(probe.calls.length, 0);
      assert.equal(factory.sockets.length, 2);
      assert.equal(socket.getSnapshot().transport, 'websocket');
    }
  });

  it('carries frames, requests and the resume query over a FallbackSocket', async () => {
    const server = new FakeFetch();
    const timers = new FakeTimers();
    const socket = new ChannelSocket<Poll>({
      url: 'ws://example.test/ws/poll/',
      resume: () => ({ after: '41' }),
      fallback: 'only',
      createFallback: (url) => fallbackSocket(url, { fetch: server.fetch, timers, now: () => timers.now }),
      offline: 'keep',
      timers,
      now: () => timers.now,
      wakeUpSignals: () => () => {},
    });
    const votes: unknown[] = [];
    socket.on('votes', (frame) => votes.push(frame.counts));
    socket.connect();
    assert.equal(server.last('sse').url, 'http://example.test/ws/poll/?after=41&_channels=sse');
    socket.send({ type: 'vote', option: 'tea' });
    const stream = server.last('sse').stream();
    stream.write('event: open\ndata: {"connection":"c","token":"t","ping_ms":25000}\n\n');
    await settle();
    assert.equal(socket.getSnapshot().status, 'open');
    assert.deepEqual(server.last('send').body, { seq: 1, frames: ['{"type":"vote","option":"tea"}'] });
    const answer = socket.request({ type: 'tally' });
    server.last('send').respond(204, { 'X-Channels-Next': '2' });
    await settle();
    const request = JSON.parse((server.last('send').body.frames as string[])[0]!) as { $: string; ref: string };
    assert.equal(request.$, 'req');
    stream.write(`data: {"type":"votes","counts":{"tea":1}}\n\ndata: {"$":"reply","ref":"${request.ref}","ok":true,"body":{"total":1}}\n\n`);
    await settle();
    assert.deepEqual(await answer, { total: 1 });
    assert.deepEqual(votes, [{ tea: 1 }]);
    socket.close();
    assert.deepEqual(server.last('send').body, { seq: 3, frames: [], close: 1000 });
    assert.ok(stream.aborted);
  });
});

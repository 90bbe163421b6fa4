import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ChatMessageFrame } from '../chat/protocol';
import { ChatClient } from './chat-client';
import type { Timers, WebSocketLike } from 'next-channels/client';

/** Timers that run only when the test advances the clock. */
class FakeTimers implements Timers {
  now = 1_000_000;
  #next = 1;
  #pending = new Map<number, { at: number; callback: () => void }>();

  setTimeout = (callback: () => void, ms: number): number => {
    const id = this.#next++;
    this.#pending.set(id, { at: this.now + ms, callback });
    return id;
  };

  clearTimeout = (handle: unknown): void => {
    this.#pending.delete(handle as number);
  };

  advance(ms: number): void {
    const until = this.now + ms;
    for (;;) {
      const due = [...this.#pending.entries()].filter(([, timer]) => timer.at <= until).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.#pending.delete(due[0]);
      this.now = due[1].at;
      due[1].callback();
    }
    this.now = until;
  }
}

class FakeSocket implements WebSocketLike {
  readyState = 0;
  readonly sent: Array<Record<string, unknown>> = [];
  closedWith: number | null = null;
  onopen: ((event: never) => void) | null = null;
  onmessage: ((event: { readonly data: unknown }) => void) | null = null;
  onclose: ((event: { readonly code: number }) => void) | null = null;
  onerror: ((event: never) => void) | null = null;

  constructor(readonly url: string) {}

  send(data: string): void {
    this.sent.push(JSON.parse(data) as Record<string, unknown>);
  }
  close(code = 1000): void {
    this.closedWith = code;
    this.readyState = 3;
  }
  // The server's side:
  open(): void {
    this.readyState = 1;
    this.onopen?.(undefined as never);
  }
  receive(frame: object): void {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }
  drop(code: number): void {
    this.readyState = 3;
    this.onclose?.({ code });
  }
  welcome(userId = 'u_me'): void {
    this.open();
    this.receive({ type: 'welcome', protocol: 1, room: 'lobby', user_id: userId, user: 'Me', limits: null });
    this.receive({ type: 'history', messages: [], has_more: false });
  }
}

const message = (id: string, extra: Partial<ChatMessageFrame> = {}): ChatMessageFrame => ({
  type: 'chat.message',
  id,
  room: 'lobby',
  user_id: 'u_other',
  user: 'Other',
  message: `m${id}`,
  ts: 1,
  ...extra,
});

function setup() {
  const timers = new FakeTimers();
  const sockets: FakeSocket[] = [];
  let wake: ((reason: 'online' | 'visible') => void) | null = null;
  let ids = 0;
  const client = new ChatClient({
    room: 'lobby',
    url: 'ws://test/ws/chat/lobby/',
    createSocket: (url) => {
      const socket = new FakeSocket(url);
      sockets.push(socket);
      return socket;
    },
    backoff: (attempt) => attempt * 1_000,
    pingAfterMs: 20_000,
    pongTimeoutMs: 5_000,
    timers,
    now: () => timers.now,
    newClientId: () => `c${++ids}`,
    wakeUpSignals: (callback) => {
      wake = callback;
      return () => (wake = null);
    },
  });
  const last = (): FakeSocket => sockets.at(-1)!;
  return { client, timers, sockets, last, wake: (reason: 'online' | 'visible') => wake?.(reason) };
}

describe('ChatClient connection states', () => {
  it('goes connecting → open on the welcome, and knows who it is', () => {
    const { client, last } = setup();
    assert.equal(client.getSnapshot().status, 'closed');
    client.connect();
    assert.equal(client.getSnapshot().status, 'connecting');
    last().welcome('u_42');
    assert.equal(client.getSnapshot().status, 'open');
    assert.deepEqual(client.getSnapshot().me, { userId: 'u_42', name: 'Me' });
  });

  it('reconnects after a lost connection with backoff, resuming after the last message seen', () => {
    const { client, timers, sockets, last } = setup();
    client.connect();
    last().welcome();
    last().receive(message('7'));
    last().drop(1006);
    assert.equal(client.getSnapshot().status, 'reconnecting');
    assert.equal(client.getSnapshot().retryAt, timers.now + 1_000);
    timers.advance(999);
    assert.equal(sockets.length, 1);
    timers.advance(1);
    assert.equal(sockets.length, 2);
    assert.equal(last().url, 'ws://test/ws/chat/lobby/?after=7');
    assert.equal(client.getSnapshot().retryAt, null);
    last().welcome();
    assert.equal(client.getSnapshot().status, 'open');
  });

  it('resumes from below a gap, so a message that was overtaken and lost is fetched again', () => {
    const { client, timers, last } = setup();
    client.connect();
    last().welcome();
    last().receive({ type: 'history', messages: [message('4'), message('5')], has_more: true });
    last().receive(message('7'));
    last().drop(1006);
    timers.advance(1_000);
    assert.equal(last().url, 'ws://test/ws/chat/lobby/?after=5');
  });

  it('treats a refused handshake like a network failure, backing off further each time', () => {
    const { client, timers, sockets, last } = setup();
    client.connect();
    last().drop(1006);
    assert.equal(client.getSnapshot().retryAt, timers.now + 1_000);
    timers.advance(1_000);
    last().drop(1006);
    assert.equal(client.getSnapshot().retryAt, timers.now + 2_000);
    timers.advance(2_000);
    assert.equal(sockets.length, 3);
    last().welcome();
    timers.advance(5_000);
    last().drop(1001);
    assert.equal(client.getSnapshot().retryAt, timers.now + 1_000, 'a connection that lasted resets the backoff');
  });

  it('does not reconnect after a clean 1000 or a policy close', () => {
    for (const code of [1000, 1008]) {
      const { client, timers, sockets, last } = setup();
      client.connect();
      last().welcome();
      last().drop(code);
      assert.equal(client.getSnapshot().status, 'closed');
      timers.advance(60_000);
      assert.equal(sockets.length, 1);
    }
  });

  it('stops for good when the session ended (4401), and does not send what waits under a new identity', () => {
    const { client, timers, sockets, last } = setup();
    client.connect();
    last().welcome();
    client.send('typed before the sign-out');
    last().drop(4401);
    const snapshot = client.getSnapshot();
    assert.deepEqual([snapshot.status, snapshot.closeCode], ['closed', 4401]);
    assert.deepEqual(snapshot.outbox, []);
    assert.deepEqual(snapshot.failed.map((failed) => failed.text), ['typed before the sign-out']);
    timers.advance(60_000);
    assert.equal(sockets.length, 1);
  });

  it('gives up a handshake that hangs, and tries again', () => {
    const { client, timers, sockets } = setup();
    client.connect();
    timers.advance(9_999);
    assert.equal(sockets.length, 1);
    timers.advance(1);
    assert.equal(client.getSnapshot().status, 'reconnecting');
    assert.equal(sockets[0]!.closedWith, 4000);
    timers.advance(1_000);
    assert.equal(sockets.length, 2);
  });

  it('gives up a connection that opens and is never welcomed, and tries again after the backoff', () => {
    const { client, timers, sockets, last } = setup();
    client.connect();
    last().open();
    timers.advance(9_999);
    assert.equal(client.getSnapshot().status, 'connecting');
    timers.advance(1);
    assert.equal(client.getSnapshot().status, 'reconnecting');
    assert.equal(sockets[0]!.closedWith, 4000);
    timers.advance(1_000);
    assert.equal(sockets.length, 2);
    last().welcome();
    timers.advance(15_000); // past the welcome's deadline, before the first ping
    assert.equal(client.getSnapshot().status, 'open', 'a welcomed connection is not given up');
  });

  it('reconnects at once when the browser comes back online', () => {
    const { client, sockets, last, wake } = setup();
    client.connect();
    last().welcome();
    last().drop(1006);
    wake('online');
    assert.equal(sockets.length, 2);
  });

  it('closes when asked, and connects again on request', () => {
    const { client, sockets, last } = setup();
    client.connect();
    last().welcome();
    client.close();
    assert.equal(client.getSnapshot().status, 'closed');
    assert.equal(sockets[0]!.closedWith, 1000);
    client.connect();
    assert.equal(sockets.length, 2);
  });
});

describe('ChatClient liveness', () => {
  it('pings a quiet line and drops it when nothing answers', () => {
    const { client, timers, last } = setup();
    client.connect();
    last().welcome();
    timers.advance(20_000);
    assert.deepEqual(last().sent.at(-1), { $: 'ping' });
    timers.advance(5_000);
    assert.equal(client.getSnapshot().status, 'reconnecting');
    assert.equal(last().closedWith, 4000);
  });

  it('keeps a line that answers', () => {
    const { client, timers, last } = setup();
    client.connect();
    last().welcome();
    timers.advance(20_000);
    last().receive({ type: 'pong' });
    timers.advance(5_000);
    assert.equal(client.getSnapshot().status, 'open');
  });

  it('pings at once when the tab becomes visible after a sleep, and drops a silent line within 3 s', () => {
    const { client, timers, last, wake } = setup();
    client.connect();
    last().welcome();
    // The machine slept: the clock moved on, and no timer ran.
    timers.now += 60_000;
    wake('visible');
    assert.deepEqual(last().sent.at(-1), { $: 'ping' });
    timers.advance(2_999);
    assert.equal(client.getSnapshot().status, 'open');
    timers.advance(1);
    assert.equal(client.getSnapshot().status, 'reconnecting');
    assert.equal(last().closedWith, 4000);
  });

  it('keeps a line that answers the ping sent on becoming visible', () => {
    const { client, timers, last, wake } = setup();
    client.connect();
    last().welcome();
    timers.now += 60_000;
    wake('visible');
    last().receive({ type: 'pong' });
    timers.advance(20_000);
    assert.equal(client.getSnapshot().status, 'open');
  });

  it('holds a ping already waiting to the short deadline when the tab becomes visible', () => {
    const { client, timers, last, wake } = setup();
    client.connect();
    last().welcome();
    timers.advance(20_000);
    assert.deepEqual(last().sent.at(-1), { $: 'ping' });
    timers.advance(1_000);
    wake('visible');
    assert.equal(last().sent.filter((frame) => frame.$ === 'ping').length, 1);
    timers.advance(3_000);
    assert.equal(client.getSnapshot().status, 'reconnecting');
  });

  it('does not ping on becoming visible while the line has been busy', () => {
    const { client, timers, last, wake } = setup();
    client.connect();
    last().welcome();
    timers.advance(5_000);
    last().receive(message('1'));
    wake('visible');
    assert.equal(last().sent.some((frame) => frame.$ === 'ping'), false);
  });

  it('does not ping while frames keep arriving', () => {
    const { client, timers, last } = setup();
    client.connect();
    last().welcome();
    for (let n = 1; n <= 5; n++) {
      timers.advance(10_000);
      last().receive(message(String(n)));
    }
    assert.equal(last().sent.some((frame) => frame.$ === 'ping'), false);
  });
});

describe('ChatClient messages', () => {
  it('keeps messages unique by id and in id order, whatever order they arrive in', () => {
    const { client, last } = setup();
    client.connect();
    last().welcome();
    last().receive({ type: 'history', messages: [message('2'), message('3')], has_more: true });
    last().receive(message('10'));
    last().receive(message('9'));
    last().receive(message('3'));
    client.loadOlder();
    last().receive({ type: 'history', messages: [message('1'), message('2')], has_more: false });
    assert.deepEqual(client.getSnapshot().messages.map((m) => m.id), ['1', '2', '3', '9', '10']);
    assert.equal(client.getSnapshot().hasMore, false);
  });

  it('says when the latest page has come, an empty room too', () => {
    const { client, last } = setup();
    client.connect();
    last().open();
    last().receive({ type: 'welcome', protocol: 1, room: 'lobby', user_id: 'u_me', user: 'Me', limits: null });
    assert.equal(client.getSnapshot().historyLoaded, false, 'welcomed, the page is still to come');
    last().receive({ type: 'history', messages: [], has_more: false });
    assert.equal(client.getSnapshot().historyLoaded, true);
    assert.deepEqual(client.getSnapshot().messages, []);
  });

  it('keeps "older messages exist" through a resume, which brings only newer ones', () => {
    const { client, timers, last } = setup();
    client.connect();
    last().open();
    last().receive({ type: 'welcome', protocol: 1, room: 'lobby', user_id: 'u_me', user: 'Me', limits: null });
    last().receive({ type: 'history', messages: [message('51'), message('52')], has_more: true });
    last().drop(1006);
    timers.advance(1_000);
    assert.equal(last().url, 'ws://test/ws/chat/lobby/?after=52');
    last().open();
    last().receive({ type: 'welcome', protocol: 1, room: 'lobby', user_id: 'u_me', user: 'Me', limits: null });
    last().receive({ type: 'history', messages: [message('53')], has_more: true });
    last().receive({ type: 'history', messages: [], has_more: true });
    assert.equal(client.getSnapshot().hasMore, true);
    assert.deepEqual(client.getSnapshot().messages.map((m) => m.id), ['51', '52', '53']);
  });

  it('replaces everything on a reset history', () => {
    const { client, last } = setup();
    client.connect();
    last().welcome();
    last().receive(message('7'));
    last().receive({ type: 'history', messages: [message('1')], has_more: false, reset: true });
    assert.deepEqual(client.getSnapshot().messages.map((m) => m.id), ['1']);
  });

  it('shows a sent message as pending until its echo, then as stored', () => {
    const { client, last } = setup();
    client.connect();
    last().welcome('u_me');
    assert.deepEqual(client.send('你好'), { ok: true, clientId: 'c1' });
    assert.deepEqual(last().sent.at(-1), { type: 'chat.message', message: '你好', client_id: 'c1' });
    assert.deepEqual(client.getSnapshot().outbox, [{ clientId: 'c1', text: '你好', state: 'sent' }]);
    last().receive(message('1', { user_id: 'u_me', message: '你好', client_id: 'c1' }));
    assert.deepEqual(client.getSnapshot().outbox, []);
    assert.deepEqual(client.getSnapshot().messages.map((m) => m.message), ['你好']);
  });

  it('keeps what is typed offline and sends it once, on reconnect', () => {
    const { client, timers, last } = setup();
    client.connect();
    last().welcome('u_me');
    last().drop(1006);
    client.send('typed offline');
    assert.deepEqual(client.getSnapshot().outbox, [{ clientId: 'c1', text: 'typed offline', state: 'queued' }]);
    timers.advance(1_000);
    last().welcome('u_me');
    assert.deepEqual(last().sent, [{ type: 'chat.message', message: 'typed offline', client_id: 'c1' }]);
  });

  it('keeps unacknowledged messages across a reload of the page, and sends them once connected', () => {
    const saved = new Map<string, readonly { clientId: string; text: string }[]>();
    const storage = { load: (room: string) => saved.get(room) ?? [], save: (room: string, pending: readonly { clientId: string; text: string }[]) => void saved.set(room, pending) };
    const first = new ChatClient({ room: 'lobby', url: 'ws://test/', createSocket: () => new FakeSocket('ws://test/'), outboxStorage: storage, timers: new FakeTimers(), newClientId: () => 'c-kept' });
    first.send('typed before the reload');
    assert.deepEqual(saved.get('lobby')?.map((entry) => entry.clientId), ['c-kept']);
    const sockets: FakeSocket[] = [];
    const again = new ChatClient({
      room: 'lobby',
      url: 'ws://test/',
      createSocket: (url) => {
        const socket = new FakeSocket(url);
        sockets.push(socket);
        return socket;
      },
      outboxStorage: storage,
      timers: new FakeTimers(),
    });
    assert.deepEqual(again.getSnapshot().outbox, [{ clientId: 'c-kept', text: 'typed before the reload', state: 'queued' }]);
    again.connect();
    sockets[0]!.welcome('u_me');
    assert.deepEqual(sockets[0]!.sent, [{ type: 'chat.message', message: 'typed before the reload', client_id: 'c-kept' }]);
    sockets[0]!.receive(message('3', { user_id: 'u_me', message: 'typed before the reload', client_id: 'c-kept' }));
    assert.deepEqual(saved.get('lobby'), []);
  });

  it('sends an unacknowledged message again, with the same client_id, after the line drops', () => {
    const { client, timers, last, sockets } = setup();
    client.connect();
    last().welcome('u_me');
    client.send('cut off');
    last().drop(1006);
    assert.equal(client.getSnapshot().outbox[0]?.state, 'queued');
    timers.advance(1_000);
    last().welcome('u_me');
    assert.deepEqual(sockets[0]!.sent.at(-1), last().sent.at(-1));
    last().receive(message('5', { user_id: 'u_me', message: 'cut off', client_id: 'c1' }));
    assert.deepEqual(client.getSnapshot().outbox, []);
  });

  it('drops a message refused for good from the outbox and says why', () => {
    const { client, last } = setup();
    client.connect();
    last().welcome();
    client.send('bad');
    last().receive({ type: 'error', code: 'invalid_message', detail: 'nope', client_id: 'c1' });
    assert.deepEqual(client.getSnapshot().outbox, []);
    assert.deepEqual(client.getSnapshot().failed, [{ clientId: 'c1', text: 'bad', code: 'invalid_message', detail: 'nope' }]);
    client.dismiss('c1');
    assert.deepEqual(client.getSnapshot().failed, []);
  });

  it('sends a message again after a transient refusal', () => {
    const { client, timers, last } = setup();
    client.connect();
    last().welcome();
    client.send('slow down');
    last().receive({ type: 'error', code: 'rate_limited', detail: 'wait', client_id: 'c1' });
    assert.equal(client.getSnapshot().outbox[0]?.state, 'queued');
    const before = last().sent.length;
    timers.advance(2_000);
    assert.equal(last().sent.length, before + 1);
    assert.equal(last().sent.at(-1)?.client_id, 'c1');
  });

  it('refuses empty and over-long text without queuing it', () => {
    const { client } = setup();
    assert.deepEqual(client.send('   '), { ok: false, error: 'message is empty' });
    assert.equal(client.send('字'.repeat(2001)).ok, false);
    assert.deepEqual(client.getSnapshot().outbox, []);
  });

  it('asks for the page before the oldest message, once at a time', () => {
    const { client, last } = setup();
    client.connect();
    last().open();
    last().receive({ type: 'welcome', protocol: 1, room: 'lobby', user_id: 'u_me', user: 'Me', limits: null });
    last().receive({ type: 'history', messages: [message('51')], has_more: true });
    client.loadOlder();
    client.loadOlder();
    assert.deepEqual(last().sent, [{ type: 'history', before: '51' }]);
    assert.equal(client.getSnapshot().loadingOlder, true);
    last().receive({ type: 'history', messages: [message('1'), message('50')], has_more: false });
    assert.equal(client.getSnapshot().loadingOlder, false);
    client.loadOlder();
    assert.equal(last().sent.length, 1, 'nothing older to ask for');
  });
});

describe('ChatClient presence and typing', () => {
  it('shows who is in the room, and forgets it when the connection drops', () => {
    const { client, last } = setup();
    client.connect();
    last().welcome();
    const users = [
      { user_id: 'u_me', user: 'Me' },
      { user_id: 'u_other', user: 'Other' },
    ];
    last().receive({ type: 'presence', users });
    assert.deepEqual(client.getSnapshot().presence, users);
    last().drop(1006);
    assert.deepEqual(client.getSnapshot().presence, []);
  });

  it('shows someone typing for a few seconds, or until their message arrives', () => {
    const { client, timers, last } = setup();
    client.connect();
    last().welcome();
    last().receive({ type: 'typing', user_id: 'u_a', user: 'Ana' });
    last().receive({ type: 'typing', user_id: 'u_b', user: 'Bo' });
    assert.deepEqual(client.getSnapshot().typing.map((t) => t.user), ['Ana', 'Bo']);
    last().receive(message('1', { user_id: 'u_a', user: 'Ana' }));
    assert.deepEqual(client.getSnapshot().typing.map((t) => t.user), ['Bo']);
    timers.advance(4_999);
    last().receive({ type: 'typing', user_id: 'u_b', user: 'Bo' });
    timers.advance(4_999);
    assert.deepEqual(client.getSnapshot().typing.map((t) => t.user), ['Bo'], 'a new notice extends the time');
    timers.advance(1);
    assert.deepEqual(client.getSnapshot().typing, []);
  });

  it('sends typing notices at most every two seconds', () => {
    const { client, timers, last } = setup();
    client.connect();
    last().welcome();
    client.sendTyping();
    client.sendTyping();
    timers.advance(1_999);
    client.sendTyping();
    timers.advance(1);
    client.sendTyping();
    assert.deepEqual(last().sent, [{ type: 'typing' }, { type: 'typing' }]);
  });
});

describe('ChatClient hold and release', () => {
  it('survives a release followed at once by a hold (StrictMode, Fast Refresh)', () => {
    const { client, timers, sockets, last } = setup();
    client.hold();
    last().welcome();
    client.release();
    client.hold();
    timers.advance(10);
    assert.equal(client.getSnapshot().status, 'open');
    assert.equal(sockets.length, 1);
    client.release();
    timers.advance(0);
    assert.equal(client.getSnapshot().status, 'closed');
  });
});

describe('ChatClient read markers and private rooms', () => {
  const reads = (socket: FakeSocket) => socket.sent.filter((frame) => frame.type === 'read').map((frame) => frame.id);

  it('sends the newest id seen, at most once a second, never an older one, and after the welcome', () => {
    const { client, timers, last } = setup();
    client.connect();
    client.markRead('5');
    last().welcome();
    assert.deepEqual(reads(last()), ['5'], 'what was seen before the welcome goes with it');
    client.markRead('6');
    client.markRead('8');
    client.markRead('7');
    assert.deepEqual(reads(last()), ['5']);
    timers.advance(1_000);
    assert.deepEqual(reads(last()), ['5', '8']);
    client.markRead('8');
    client.markRead('10');
    timers.advance(999);
    assert.deepEqual(reads(last()), ['5', '8']);
    timers.advance(1);
    assert.deepEqual(reads(last()), ['5', '8', '10']);
  });

  it('keeps a marker not yet sent for the next connection, and stops if the server does not know them', () => {
    const { client, timers, last } = setup();
    client.connect();
    last().welcome();
    client.markRead('3');
    client.markRead('4');
    last().drop(1006);
    timers.advance(1_000);
    last().welcome();
    assert.deepEqual(reads(last()), ['4']);
    last().receive({ type: 'error', code: 'unknown_type', detail: 'unknown frame type "read"; expected chat.message, typing, history or ping' });
    timers.advance(5_000);
    client.markRead('9');
    timers.advance(5_000);
    assert.deepEqual(reads(last()), ['4']);
  });

  it("keeps everyone's read markers, forward only, and does not send again what another tab read", () => {
    const { client, timers, last } = setup();
    client.connect();
    last().welcome('u_me');
    last().receive({ type: 'read', user_id: 'u_me', id: '4' });
    last().receive({ type: 'read', user_id: 'u_bo', id: '7' });
    last().receive({ type: 'read', user_id: 'u_bo', id: '6' });
    last().receive({ type: 'read', user_id: 'u_bo', id: 'x' });
    assert.deepEqual([...client.getSnapshot().readMarkers], [
      ['u_me', '4'],
      ['u_bo', '7'],
    ]);
    client.markRead('3');
    client.markRead('4');
    assert.deepEqual(reads(last()), [], 'already read here or elsewhere');
    client.markRead('5');
    assert.deepEqual(reads(last()), ['5']);
    // Another tab reads further while this one waits to send: nothing more is sent.
    client.markRead('8');
    last().receive({ type: 'read', user_id: 'u_me', id: '9' });
    timers.advance(5_000);
    assert.deepEqual(reads(last()), ['5']);
    assert.equal(client.getSnapshot().readMarkers.get('u_me'), '9');
  });

  it('stops on 4403 (removed) and 4404 (no such room), giving up what waits to be sent', () => {
    for (const code of [4403, 4404]) {
      const { client, timers, sockets, last } = setup();
      client.connect();
      last().welcome();
      last().receive(message('3'));
      client.send('还没发出去');
      last().drop(code);
      const snapshot = client.getSnapshot();
      assert.deepEqual([snapshot.status, snapshot.closeCode], ['closed', code]);
      assert.deepEqual(snapshot.messages.map((shown) => shown.id), ['3'], 'what was shown stays');
      assert.deepEqual(snapshot.outbox, []);
      assert.deepEqual(snapshot.failed.map((failed) => failed.text), ['还没发出去']);
      timers.advance(60_000);
      assert.equal(sockets.length, 1);
    }
  });
});

describe('ChatClient edits, deletions, reactions and replies', () => {
  const event = (type: 'chat.edit' | 'chat.delete' | 'chat.reaction', id: string, target: string, extra: Record<string, unknown> = {}) => ({
    type,
    id,
    room: 'lobby',
    target,
    user_id: 'u_other',
    user: 'Other',
    ts: 5,
    ...extra,
  });

  it('shows the final state on a resume after an edit and a deletion made while offline, never the old text', () => {
    const { client, timers, last } = setup();
    client.connect();
    last().welcome();
    last().receive(message('1', { message: '第一条' }));
    last().receive(message('2', { message: '第二条：秘密' }));
    last().drop(1006);
    timers.advance(1_000);
    assert.equal(last().url, 'ws://test/ws/chat/lobby/?after=2');
    last().open();
    last().receive({ type: 'welcome', protocol: 1, room: 'lobby', user_id: 'u_me', user: 'Me', limits: null });
    last().receive({
      type: 'history',
      messages: [message('3', { message: '第三条' })],
      events: [event('chat.edit', '4', '1', { text: '第一条（改过）' }), event('chat.delete', '5', '2')],
      has_more: true,
    });
    const shown = client.getSnapshot().messages;
    assert.deepEqual(
      shown.map((m) => [m.id, m.message, m.deleted ?? false, m.edited_at ?? null]),
      [
        ['1', '第一条（改过）', false, 5],
        ['2', '', true, null],
        ['3', '第三条', false, null],
      ],
    );
    assert.equal(JSON.stringify(shown).includes('秘密'), false);
    // The events count: the next resume starts after them.
    last().drop(1006);
    timers.advance(2_000);
    assert.equal(last().url, 'ws://test/ws/chat/lobby/?after=5');
  });

  it('resumes after the head of a join page, whose events are folded into its messages', () => {
    const { client, timers, last } = setup();
    client.connect();
    last().open();
    last().receive({ type: 'welcome', protocol: 1, room: 'lobby', user_id: 'u_me', user: 'Me', limits: null });
    last().receive({ type: 'history', messages: [message('1', { edited_at: 3 }), message('2', { message: '', deleted: true })], has_more: false, head: '4' });
    last().drop(1006);
    timers.advance(1_000);
    assert.equal(last().url, 'ws://test/ws/chat/lobby/?after=4');
  });

  it('replaces what it shows on a reset, tombstones included, and resumes after the new head', () => {
    const { client, timers, last } = setup();
    client.connect();
    last().welcome();
    last().receive(message('40', { message: '旧库里的秘密' }));
    last().receive({ type: 'history', messages: [message('2', { message: '', deleted: true }), message('3')], has_more: false, head: '6', reset: true });
    assert.deepEqual(client.getSnapshot().messages.map((m) => m.id), ['2', '3']);
    assert.equal(JSON.stringify(client.getSnapshot().messages).includes('秘密'), false);
    last().drop(1006);
    timers.advance(1_000);
    assert.equal(last().url, 'ws://test/ws/chat/lobby/?after=6');
  });

  it('applies edits and deletions live, once, and ignores an edit of a deleted message', () => {
    const { client, last } = setup();
    client.connect();
    last().welcome();
    last().receive(message('1', { message: 'hello' }));
    last().receive(message('2', { message: 'reply', reply_to: { id: '1', user_id: 'u_other', user: 'Other', text: 'hello' } }));
    last().receive(event('chat.edit', '3', '1', { text: 'hello!' }));
    assert.equal(client.getSnapshot().messages[0]?.message, 'hello!');
    last().receive(event('chat.delete', '4', '1'));
    last().receive(event('chat.edit', '3', '1', { text: 'hello!' }));
    const [deleted, reply] = client.getSnapshot().messages;
    assert.deepEqual([deleted?.message, deleted?.deleted], ['', true]);
    assert.deepEqual(reply?.reply_to, { id: '1', user_id: 'u_other', user: 'Other', text: '', deleted: true });
    assert.equal(client.getSnapshot().messages.length, 2, 'events are never shown as messages');
  });

  it('requotes replies when the message they answer is edited, cut as the server cuts quotes', () => {
    const { client, last } = setup();
    client.connect();
    last().welcome();
    last().receive(message('1', { message: '旧的话' }));
    last().receive(message('2', { message: 'reply', reply_to: { id: '1', user_id: 'u_other', user: 'Other', text: '旧的话' } }));
    last().receive(event('chat.edit', '3', '1', { text: '新'.repeat(150) }));
    assert.deepEqual(client.getSnapshot().messages[1]?.reply_to, { id: '1', user_id: 'u_other', user: 'Other', text: `${'新'.repeat(100)}…` });
    assert.equal(JSON.stringify(client.getSnapshot().messages).includes('旧'), false, 'the old text is shown nowhere');
    // A reply to a message this client never loaded is requoted all the same.
    last().receive(message('5', { message: 'late reply', reply_to: { id: '4', user_id: 'u_other', user: 'Other', text: 'before' } }));
    last().receive(event('chat.edit', '6', '4', { text: 'after' }));
    assert.equal(client.getSnapshot().messages[2]?.reply_to?.text, 'after');
    last().receive(event('chat.delete', '7', '4'));
    last().receive(event('chat.edit', '6', '4', { text: 'again' }));
    assert.deepEqual(client.getSnapshot().messages[2]?.reply_to, { id: '4', user_id: 'u_other', user: 'Other', text: '', deleted: true });
  });

  it('counts reactions from the events, the same however often one arrives', () => {
    const { client, last } = setup();
    client.connect();
    last().welcome();
    last().receive(message('1'));
    const on = event('chat.reaction', '2', '1', { emoji: '👍', on: true, count: 1, user_id: 'u_a' });
    last().receive(on);
    last().receive(on);
    last().receive(event('chat.reaction', '3', '1', { emoji: '👍', on: true, count: 2, user_id: 'u_b' }));
    last().receive(event('chat.reaction', '4', '1', { emoji: '🎉', on: true, count: 1, user_id: 'u_b' }));
    assert.deepEqual(client.getSnapshot().messages[0]?.reactions, [
      { emoji: '👍', count: 2, user_ids: ['u_a', 'u_b'] },
      { emoji: '🎉', count: 1, user_ids: ['u_b'] },
    ]);
    last().receive(event('chat.reaction', '5', '1', { emoji: '👍', on: false, count: 1, user_id: 'u_a' }));
    last().receive(event('chat.reaction', '6', '1', { emoji: '🎉', on: false, count: 0, user_id: 'u_b' }));
    assert.deepEqual(client.getSnapshot().messages[0]?.reactions, [{ emoji: '👍', count: 1, user_ids: ['u_b'] }]);
  });

  it('sends edits, deletions, reactions and replies, and tells a refused change apart', () => {
    const { client, last } = setup();
    assert.equal(client.edit('1', 'x'), false, 'nothing is queued while offline');
    client.connect();
    last().welcome('u_me');
    assert.equal(client.edit('1', '改'), true);
    assert.equal(client.remove('2'), true);
    assert.equal(client.react('1', '👍', true), true);
    assert.equal(client.edit('1', '  '), false);
    client.send('回复', { replyTo: '1' });
    assert.deepEqual(last().sent, [
      { type: 'chat.edit', id: '1', text: '改', client_id: 'x-c1' },
      { type: 'chat.delete', id: '2', client_id: 'x-c2' },
      { type: 'chat.react', id: '1', emoji: '👍', on: true, client_id: 'x-c3' },
      { type: 'chat.message', message: '回复', client_id: 'c4', reply_to: '1' },
    ]);
    last().receive({ type: 'error', code: 'too_late', detail: 'this message can no longer be edited', client_id: 'x-c1' });
    assert.deepEqual(client.getSnapshot().changeRefused, { id: '1', code: 'too_late', detail: 'this message can no longer be edited' });
    assert.equal(client.getSnapshot().failed.length, 0);
    assert.equal(client.getSnapshot().outbox[0]?.replyTo, '1');
  });
});

import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { NotificationFrame } from '../chat/protocol';
import { mentionParts, NotificationClient } from './notification-client';
import type { Timers, WebSocketLike } from 'next-channels/client';

class FakeTimers implements Timers {
  now = 0;
  #pending = new Map<number, { at: number; callback: () => void }>();
  #next = 1;
  setTimeout = (callback: () => void, ms: number): number => {
    this.#pending.set(this.#next, { at: this.now + ms, callback });
    return this.#next++;
  };
  clearTimeout = (handle: unknown): void => {
    this.#pending.delete(handle as number);
  };
  advance(ms: number): void {
    this.now += ms;
    for (const [id, timer] of [...this.#pending]) {
      if (timer.at > this.now) continue;
      this.#pending.delete(id);
      timer.callback();
    }
  }
}

class FakeSocket implements WebSocketLike {
  readyState = 1;
  sent: string[] = [];
  closedWith: number | null = null;
  onopen: ((event: never) => void) | null = null;
  onmessage: ((event: { readonly data: unknown }) => void) | null = null;
  onclose: ((event: { readonly code: number }) => void) | null = null;
  onerror: ((event: never) => void) | null = null;
  send(data: string): void {
    this.sent.push(data);
  }
  close(code = 1000): void {
    this.closedWith = code;
  }
}

function setup() {
  const timers = new FakeTimers();
  const sockets: FakeSocket[] = [];
  const client = new NotificationClient({
    url: 'ws://test/ws/notifications/',
    createSocket: () => {
      const socket = new FakeSocket();
      sockets.push(socket);
      return socket;
    },
    backoff: () => 500,
    timers,
    now: () => timers.now,
    maxShown: 2,
  });
  return { client, timers, sockets };
}

const notification = (title: string) => JSON.stringify({ type: 'notification', kind: 'message', title, body: '', ts: 1 });

it('keeps the latest notifications, and forgets a dismissed one', () => {
  const { client, sockets } = setup();
  client.connect();
  const socket = sockets[0]!;
  socket.onopen?.(undefined as never);
  for (const title of ['one', 'two', 'three']) socket.onmessage?.({ data: notification(title) });
  socket.onmessage?.({ data: '{"type":"pong"}' });
  assert.deepEqual(client.getSnapshot().map((shown) => shown.title), ['two', 'three']);
  client.dismiss(client.getSnapshot()[0]!.key);
  assert.deepEqual(client.getSnapshot().map((shown) => shown.title), ['three']);
});

it('reconnects after a lost connection, and not after a clean close', () => {
  const { client, timers, sockets } = setup();
  client.connect();
  sockets[0]!.onclose?.({ code: 1006 });
  timers.advance(500);
  assert.equal(sockets.length, 2);
  sockets[1]!.onclose?.({ code: 1000 });
  timers.advance(5_000);
  assert.equal(sockets.length, 2);
});

it('pings a quiet line and reconnects when nothing answers', () => {
  const { client, timers, sockets } = setup();
  client.connect();
  sockets[0]!.onopen?.(undefined as never);
  timers.advance(25_000);
  assert.deepEqual(sockets[0]!.sent, ['{"$":"ping"}']);
  timers.advance(10_000);
  assert.equal(sockets[0]!.closedWith, 4000);
  timers.advance(500);
  assert.equal(sockets.length, 2);
});

it('does not reconnect once the session ended (4401)', () => {
  const { client, timers, sockets } = setup();
  client.connect();
  sockets[0]!.onclose?.({ code: 4401 });
  timers.advance(60_000);
  assert.equal(sockets.length, 1);
});

it('takes away the notification of a message deleted before it was dismissed', () => {
  const { client, sockets } = setup();
  client.connect();
  const socket = sockets[0]!;
  socket.onopen?.(undefined as never);
  const mention = (id: string) => JSON.stringify({ type: 'notification', kind: 'mention', title: 'Ana mentioned you', body: `@小明 ${id}`, room: 'lobby', message_id: id, ts: 1 });
  socket.onmessage?.({ data: mention('7') });
  socket.onmessage?.({ data: mention('8') });
  socket.onmessage?.({ data: JSON.stringify({ type: 'notification.retract', room: 'other', message_id: '7' }) });
  assert.equal(client.getSnapshot().length, 2, "another room's message 7 is not this one");
  socket.onmessage?.({ data: JSON.stringify({ type: 'notification.retract', room: 'lobby', message_id: '7' }) });
  assert.deepEqual(client.getSnapshot().map((shown) => shown.message_id), ['8']);
});

it("reads a mention's title parts, and leaves a frame without them (an older server) to its title", () => {
  const base: NotificationFrame = { type: 'notification', kind: 'mention', title: 'Ana mentioned you in #lobby', body: '@小明', room: 'lobby', message_id: '7', ts: 1 };
  assert.deepEqual(mentionParts({ ...base, from: 'Ana', room_kind: 'public' }), { from: 'Ana', roomKind: 'public', room: 'lobby' });
  assert.deepEqual(mentionParts({ ...base, from: '安娜', room: '_x', room_kind: 'private', room_title: '读书会' }), { from: '安娜', roomKind: 'private', title: '读书会' });
  assert.deepEqual(mentionParts({ ...base, from: 'Ana', room: '_dm', room_kind: 'direct' }), { from: 'Ana', roomKind: 'direct' });
  assert.equal(mentionParts(base), null, 'no parts: the title is shown');
  assert.equal(mentionParts({ ...base, kind: 'message', from: 'Ana', room_kind: 'public' }), null);
  assert.equal(mentionParts({ ...base, from: 'Ana', room_kind: 'private' }), null, 'a private room without its title');
  assert.equal(mentionParts({ ...base, from: '', room_kind: 'public' }), null);
  // What a newer server might send that this client does not know.
  assert.equal(mentionParts({ ...base, from: 'Ana', room_kind: 'thread' } as unknown as NotificationFrame), null);
  assert.equal(mentionParts({ ...base, from: 42, room_kind: 'public' } as unknown as NotificationFrame), null);
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  AllowedOrigins,
  InMemoryChannelLayer,
  InMemoryPresence,
  SessionCookies,
  silentLogger,
} from 'next-channels';
import { WebsocketCommunicator } from 'next-channels/testing';
import { ChatService } from './chat-service';
import { notifyUser } from './notifications';
import { roomParticipants } from './presence';
import { mentionedNames, type NotificationFrame } from './protocol';
import { chatApplication } from './routing';
import { MemoryMessageStore } from './store/memory';

const ORIGIN = 'http://localhost:3000';

function app() {
  const layer = new InMemoryChannelLayer();
  const sessions = new SessionCookies({ secret: 'notifications-test-secret-0123456789' });
  const presence = new InMemoryPresence({ changeIntervalMs: 0 });
  const sent: string[] = [];
  const groupSend = layer.groupSend.bind(layer);
  layer.groupSend = (group, message) => {
    sent.push(group);
    return groupSend(group, message);
  };
  const service = new ChatService({
    store: new MemoryMessageStore(),
    layer,
    logger: silentLogger,
    participants: roomParticipants(presence),
  });
  const application = chatApplication({
    service,
    sessions,
    allowedOrigins: AllowedOrigins.localDefaults(3000),
    quotas: null,
    maxFrameBytes: 65_536,
  });
  const open = async (path: string, user: { id: string; name: string }) => {
    const client = new WebsocketCommunicator(application, path, { layer, presence, headers: { origin: ORIGIN, cookie: `session=${sessions.sign(user)}` } });
    assert.deepEqual(await client.connect(), { accepted: true });
    return client;
  };
  return { layer, service, open, sent };
}

const ana = { id: 'u_ana', name: 'Ana' };
const ming = { id: 'u_ming', name: '小明' };
const frame: NotificationFrame = { type: 'notification', kind: 'message', title: 'Hello', body: '你好', ts: 1 };

describe('NotificationConsumer', () => {
  it("delivers what is pushed to a user's group to every tab of that user, and no one else", async () => {
    const { layer, open } = app();
    const tabs = [await open('/ws/notifications/', ming), await open('/ws/notifications/', ming)];
    const other = await open('/ws/notifications/', ana);
    await notifyUser(layer, 'u_ming', frame);
    for (const tab of tabs) assert.deepEqual(await tab.receiveJson(), frame);
    assert.equal(await other.receiveNothing(), true);
  });

  it('tells a person @mentioned in a room they are in, on every page, but not the author mentioning themself', async () => {
    const { open } = app();
    const mingNotifications = await open('/ws/notifications/', ming);
    const anaNotifications = await open('/ws/notifications/', ana);
    await open('/ws/chat/kitchen/', ming);
    const chat = await open('/ws/chat/kitchen/', ana);
    await chat.receiveJson();
    chat.sendJson({ message: 'lunch, @小明? and @ana' });
    const notification = await mingNotifications.receiveJson<NotificationFrame>();
    assert.equal(notification.kind, 'mention');
    assert.equal(notification.title, 'Ana mentioned you in #kitchen');
    // The parts of the title, for a client to word it in its reader's language.
    assert.deepEqual([notification.from, notification.room_kind, notification.room_title], ['Ana', 'public', undefined]);
    assert.equal(notification.body, 'lunch, @小明? and @ana');
    assert.equal(notification.room, 'kitchen');
    assert.equal(await anaNotifications.receiveNothing(), true);
  });

  it('reaches a recent author of the room who has left it, and never a stranger who picked the same name', async () => {
    const { open, service } = app();
    const alice = { id: 'u_alice', name: 'Alice Liddell' };
    const squatter = { id: 'u_squatter', name: 'Alice Liddell' };
    const bob = { id: 'u_bob', name: 'Bob' };
    await service.post('porch', alice, 'I am here');
    const aliceNotifications = await open('/ws/notifications/', alice);
    const squatterNotifications = await open('/ws/notifications/', squatter);
    await open('/ws/chat/elsewhere/', squatter);
    await service.post('porch', bob, '@AliceLiddell the door code is 4711');
    const notification = await aliceNotifications.receiveJson<NotificationFrame>();
    assert.equal(notification.body, '@AliceLiddell the door code is 4711');
    assert.equal(await squatterNotifications.receiveNothing(), true, 'the squatter heard nothing of a room she never joined');
  });

  it('notifies at most ten names of one message, after its broadcast, one send per person', async () => {
    const { open, service, sent } = app();
    const people = Array.from({ length: 30 }, (_, n) => ({ id: `u_${n}`, name: `p${n}` }));
    for (const person of people) await service.post('crowd', person, 'hi');
    const tabs = await Promise.all(people.map((person) => open('/ws/notifications/', person)));
    sent.length = 0;
    const text = people.map((person) => `@${person.name}`).join(' ');
    await service.post('crowd', ana, text);
    for (const tab of tabs.slice(0, 10)) assert.equal((await tab.receiveJson<NotificationFrame>()).kind, 'mention');
    for (const tab of tabs.slice(10)) assert.equal(await tab.receiveNothing(), true);
    assert.equal(sent[0], 'chat.crowd', 'the room first');
    assert.deepEqual(sent.slice(1).sort(), people.slice(0, 10).map((person) => `notify.user.${person.id}`).sort());
  });

  it('answers ping, and refuses anything else with an error frame', async () => {
    const { open } = app();
    const client = await open('/ws/notifications/', ana);
    client.sendJson({ type: 'ping' });
    assert.deepEqual(await client.receiveJson(), { type: 'pong' });
    client.sendJson({ message: 'not here' });
    assert.equal((await client.receiveJson<{ code: string }>()).code, 'unknown_type');
    client.sendText('nope');
    assert.equal((await client.receiveJson<{ code: string }>()).code, 'bad_json');
  });
});

describe('mentionedNames', () => {
  it('finds @names up to a space or punctuation, once each, not inside words or addresses', () => {
    assert.deepEqual(mentionedNames('hi @Ana, @小明！ and @Ana again'), ['Ana', '小明']);
    assert.deepEqual(mentionedNames('mail ana@example.com'), []);
    assert.deepEqual(mentionedNames('@BraveOtter42 look'), ['BraveOtter42']);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RecordingReceiver } from '../testing/layer-conformance';
import { LocalDelivery, Memberships } from './local-delivery';
import type { LayerMessage } from './types';

const types = (receiver: RecordingReceiver): string[] => receiver.messages.map((message) => message.type);

describe('LocalDelivery group sends', () => {
  it('follows joins, leaves, detaches and re-attaches between two sends of the same group', () => {
    const local = new LocalDelivery();
    const [a, b, c, d, newB] = Array.from({ length: 5 }, () => new RecordingReceiver()) as [RecordingReceiver, RecordingReceiver, RecordingReceiver, RecordingReceiver, RecordingReceiver];
    const [channelA, channelB, channelC, channelD] = Array.from({ length: 4 }, () => local.newChannel('t')) as [string, string, string, string];
    local.attach(channelA, a);
    local.attach(channelB, b);
    local.attach(channelD, d);
    local.groupAdd('room', channelA);
    local.groupAdd('room', channelB);
    local.groupSend('room', { type: 'test.one' });
    local.groupAdd('room', channelD);
    // Member before its channel is attached: it gets what is sent once it is.
    local.groupAdd('room', channelC);
    local.groupSend('room', { type: 'test.two' });
    local.attach(channelC, c);
    local.groupSend('room', { type: 'test.three' });
    local.groupDiscard('room', channelA);
    local.detach(channelB);
    local.groupSend('room', { type: 'test.four' });
    local.attach(channelB, newB);
    local.groupSend('room', { type: 'test.five' });
    assert.deepEqual(types(a), ['test.one', 'test.two', 'test.three']);
    assert.deepEqual(types(b), ['test.one', 'test.two', 'test.three']);
    assert.deepEqual(types(c), ['test.three', 'test.four', 'test.five']);
    assert.deepEqual(types(d), ['test.two', 'test.three', 'test.four', 'test.five']);
    assert.deepEqual(types(newB), ['test.five']);
  });

  it('stops at a membership that expired since the last send, and forgets the group once none is left', () => {
    let clock = 1_000;
    const local = new LocalDelivery({ groupExpiryMs: 100, now: () => clock });
    const [renewed, lapsed] = [new RecordingReceiver(), new RecordingReceiver()];
    const [renewedChannel, lapsedChannel] = [local.newChannel('t'), local.newChannel('t')];
    local.attach(renewedChannel, renewed);
    local.attach(lapsedChannel, lapsed);
    local.groupAdd('room', renewedChannel);
    local.groupAdd('room', lapsedChannel);
    assert.equal(local.groupSend('room', { type: 'test.both' }), false);
    clock += 60;
    local.groupAdd('room', renewedChannel);
    clock += 60;
    assert.equal(local.groupSend('room', { type: 'test.renewed' }), false);
    assert.deepEqual(types(renewed), ['test.both', 'test.renewed']);
    assert.deepEqual(types(lapsed), ['test.both']);
    clock += 100;
    assert.equal(local.groupSend('room', { type: 'test.nobody' }), true, 'no member left here');
    assert.deepEqual([...local.groups()], []);
    assert.deepEqual(types(renewed), ['test.both', 'test.renewed']);
  });

  it('skips a member whose channel an earlier delivery of the same send detached', () => {
    const local = new LocalDelivery();
    const doomed = new RecordingReceiver();
    const doomedChannel = local.newChannel('t');
    // Delivering to the first member closes the second one (as a consumer closing another might).
    const closer = new (class extends RecordingReceiver {
      override deliver(message: LayerMessage): void {
        super.deliver(message);
        local.detach(doomedChannel);
      }
    })();
    const closerChannel = local.newChannel('t');
    local.attach(closerChannel, closer);
    local.attach(doomedChannel, doomed);
    local.groupAdd('room', closerChannel);
    local.groupAdd('room', doomedChannel);
    local.groupSend('room', { type: 'test.closing' });
    assert.deepEqual(types(closer), ['test.closing']);
    assert.deepEqual(types(doomed), []);
  });

  it('excepts channels by name: a receiver held under two names still gets the send through the other', () => {
    const local = new LocalDelivery();
    const twice = new RecordingReceiver();
    const other = new RecordingReceiver();
    const [first, second, otherChannel] = [local.newChannel('t'), local.newChannel('t'), local.newChannel('t')];
    local.attach(first, twice);
    local.attach(second, twice);
    local.attach(otherChannel, other);
    for (const channel of [first, second, otherChannel]) local.groupAdd('room', channel);
    local.groupSend('room', { type: 'test.once' }, [first]);
    local.groupSend('room', { type: 'test.none' }, [second, otherChannel, first]);
    local.groupSend('room', { type: 'test.all' });
    assert.deepEqual(types(twice), ['test.once', 'test.all', 'test.all']);
    assert.deepEqual(types(other), ['test.once', 'test.all']);
  });

  it('tells a full member of each message it misses and delivers again once it has room', () => {
    const local = new LocalDelivery({ capacity: 1 });
    const member = new RecordingReceiver();
    const channel = local.newChannel('t');
    local.attach(channel, member);
    local.groupAdd('room', channel);
    member.backlog = 1;
    local.groupSend('room', { type: 'test.missed' });
    local.groupSend('room', { type: 'test.missed' });
    member.backlog = 0;
    local.groupSend('room', { type: 'test.kept' });
    assert.equal(member.overflows, 2);
    assert.deepEqual(types(member), ['test.kept']);
  });
});

describe('Memberships', () => {
  const listed = (members: Memberships): string[] => [...members.entries()].map(([channel, expiresAt]) => `${channel}@${expiresAt}`);

  it('holds one member, renews it, and keeps order and renewals once there are several', () => {
    const members = new Memberships();
    assert.equal(members.size, 0);
    members.set('a', 1);
    members.set('a', 2);
    assert.deepEqual([members.size, listed(members)], [1, ['a@2']]);
    members.set('b', 3);
    members.set('a', 4);
    assert.deepEqual([members.size, listed(members)], [2, ['a@4', 'b@3']]);
    assert.equal(members.delete('a'), true);
    assert.equal(members.delete('a'), false);
    members.set('c', 5);
    assert.deepEqual([members.size, listed(members)], [2, ['b@3', 'c@5']]);
  });

  it('answers whether a channel was a member, whether it held one or several', () => {
    const members = new Memberships();
    assert.equal(members.delete('a'), false);
    members.set('a', 1);
    assert.equal(members.delete('b'), false);
    assert.equal(members.delete('a'), true);
    assert.deepEqual([members.size, listed(members)], [0, []]);
    members.set('b', 2);
    assert.deepEqual(listed(members), ['b@2']);
  });

  it('lets a sweep delete what it visits, one member or several', () => {
    for (const count of [1, 3]) {
      const members = new Memberships();
      for (let index = 0; index < count; index++) members.set(`c${index}`, index);
      const seen: string[] = [];
      for (const [channel] of members.entries()) {
        seen.push(channel);
        members.delete(channel);
      }
      assert.deepEqual([seen.length, members.size], [count, 0]);
    }
  });
});

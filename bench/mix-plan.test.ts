import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MIX_MODES, personAddress, planMix, SendBudget, seededRandom, zipfRoomSizes } from './mix-plan';

const OPTIONS = MIX_MODES.full;

describe('zipfRoomSizes', () => {
  it('makes a few big rooms and many small ones that sum to the total, largest first', () => {
    const sizes = zipfRoomSizes(3000, 500, 2, 1);
    assert.equal(sizes.reduce((sum, size) => sum + size, 0), 3000);
    assert.equal(sizes[0], 500);
    assert.deepEqual(sizes.slice(1, 4), [250, 167, 125]);
    assert.ok(sizes.every((size) => size >= 2));
    assert.ok(sizes.filter((size) => size >= 100).length <= 5);
    assert.ok(sizes.filter((size) => size <= 10).length >= 100);
  });

  it('adds a remainder too small for a room to the last room', () => {
    const sizes = zipfRoomSizes(11, 5, 3, 1);
    assert.equal(sizes.reduce((sum, size) => sum + size, 0), 11);
    assert.ok(sizes.every((size) => size >= 3));
  });

  it('refuses what cannot be made', () => {
    assert.throws(() => zipfRoomSizes(1, 5, 2, 1));
  });
});

describe('planMix', () => {
  const plan = planMix(OPTIONS);

  it('makes the same plan from the same seed', () => {
    assert.deepEqual(planMix(OPTIONS), plan);
    assert.notDeepEqual(planMix({ ...OPTIONS, seed: 2 }).events, plan.events);
  });

  it('puts every connection in its room once, and only accounts in private rooms and direct messages', () => {
    assert.equal(plan.connections.length, OPTIONS.clients);
    plan.rooms.forEach((room, index) => {
      assert.equal(room.connections.length, room.size);
      const persons = room.connections.map((connection) => plan.connections[connection]!.person);
      assert.equal(new Set(persons).size, persons.length, 'nobody twice in a room');
      for (const connection of room.connections) assert.equal(plan.connections[connection]!.room, index);
      if (room.kind === 'public') assert.ok(persons.every((person) => person >= plan.accounts));
      else assert.ok(persons.every((person) => person < plan.accounts));
    });
    assert.equal(plan.rooms.filter((room) => room.kind === 'private').length, OPTIONS.privateRooms);
    assert.equal(plan.rooms.filter((room) => room.kind === 'direct').length, OPTIONS.directRooms);
    assert.ok(plan.rooms.filter((room) => room.kind === 'direct').every((room) => room.size === 2));
  });

  it('keeps every account within its room budget (10 rooms made or people added)', () => {
    const spent = new Map<number, number>();
    const spend = (person: number, count: number): void => void spent.set(person, (spent.get(person) ?? 0) + count);
    for (const room of plan.rooms) {
      const first = plan.connections[room.connections[0]!]!.person;
      if (room.kind === 'private') spend(first, room.size);
      if (room.kind === 'direct') spend(first, 1);
    }
    assert.ok([...spent.values()].every((count) => count <= 10), JSON.stringify([...spent]));
  });

  it('schedules messages at the fixed rate, each typing frame before its message, every event in time order', () => {
    const messages = plan.events.filter((event) => event.kind === 'message');
    assert.equal(messages.length, ((OPTIONS.warmUpMs + OPTIONS.windowMs) / 1000) * OPTIONS.rate);
    assert.equal(messages[1]!.at - messages[0]!.at, 1000 / OPTIONS.rate);
    for (let index = 1; index < plan.events.length; index++) assert.ok(plan.events[index - 1]!.at <= plan.events[index]!.at);
    const typing = plan.events.filter((event) => event.kind === 'typing');
    const share = typing.length / messages.length;
    assert.ok(share > 0.25 && share < 0.35, `typing share ${share}`);
    for (const event of typing) {
      const message = messages[event.message]!;
      assert.equal(message.at - event.at, OPTIONS.typingLeadMs);
      assert.equal(message.room, event.room);
    }
  });

  it('sends big rooms more messages, but fewer per member', () => {
    const perRoom = new Map<number, number>();
    for (const event of plan.events) if (event.kind === 'message') perRoom.set(event.room, (perRoom.get(event.room) ?? 0) + 1);
    const biggest = perRoom.get(0)!;
    const smallest = perRoom.get(plan.rooms.length - 1) ?? 0;
    assert.ok(biggest > smallest * 5);
    assert.ok(biggest / plan.rooms[0]!.size < Math.max(1, smallest) / plan.rooms.at(-1)!.size + 1);
  });

  it('has each connection leave at most once at a time, back before the end, and late joiners join once', () => {
    const duration = OPTIONS.warmUpMs + OPTIONS.windowMs;
    const backAt = new Map<number, number>();
    for (const event of plan.events) {
      if (event.kind !== 'leave') continue;
      assert.ok(event.at > (backAt.get(event.connection) ?? -1));
      assert.ok(event.awayMs >= OPTIONS.awayMs[0] && event.awayMs <= OPTIONS.awayMs[1]);
      backAt.set(event.connection, event.at + event.awayMs);
      assert.ok(event.at + event.awayMs < duration);
      assert.ok(!plan.connections[event.connection]!.late);
    }
    const joins = plan.events.filter((event) => event.kind === 'join').map((event) => event.connection);
    assert.equal(joins.length, OPTIONS.lateJoiners);
    assert.equal(new Set(joins).size, joins.length);
    assert.ok(joins.every((connection) => plan.connections[connection]!.late));
  });
});

describe('SendBudget', () => {
  it('lets a person send a burst, then at the rate, each person on their own', () => {
    const budget = new SendBudget(1, 3);
    assert.deepEqual([0, 0, 0, 0].map(() => budget.take(7, 0)), [true, true, true, false]);
    assert.equal(budget.take(8, 0), true);
    assert.equal(budget.take(7, 500), false);
    assert.equal(budget.take(7, 1000), true);
    assert.equal(budget.take(7, 1000), false);
  });
});

describe('seededRandom and personAddress', () => {
  it('repeats its numbers for a seed, in [0, 1)', () => {
    const a = seededRandom(5);
    const b = seededRandom(5);
    const numbers = Array.from({ length: 100 }, () => a());
    assert.deepEqual(numbers, Array.from({ length: 100 }, () => b()));
    assert.ok(numbers.every((n) => n >= 0 && n < 1));
  });

  it('gives every person a loopback address of their own', () => {
    const addresses = Array.from({ length: 70_000 }, (_, person) => personAddress(person));
    assert.equal(new Set(addresses).size, addresses.length);
    assert.ok(addresses.every((address) => /^127\.\d+\.\d+\.\d+$/.test(address) && !address.endsWith('.0')));
  });
});

/**
 * The plan of the realistic mix (`mix.ts`): pure, seeded, so the app and the naive server get the
 * same rooms and the same schedule, and a test can check it. Room sizes follow a Zipf-like law (a
 * few big rooms, many small ones); messages go to rooms in proportion to an activity weight, on an
 * open-loop schedule; some are announced by a typing frame; connections leave and come back
 * (resuming with `?after=` or joining afresh), and some join for the first time during the window.
 */

/** How the mix is made; every timer is here, so a run can be short. */
export interface MixOptions {
  /** Connections in rooms, all together (a person in several rooms has one per room). */
  readonly clients: number;
  readonly largestRoom: number;
  readonly smallestRoom: number;
  /** Room k (from 1) has `largestRoom / k^zipfExponent` members, down to `smallestRoom`. */
  readonly zipfExponent: number;
  /** A room's share of the messages is proportional to its size to this power (big rooms are less chatty per member). */
  readonly activityExponent: number;
  /** Signed-up people: the members of the private rooms and direct messages. */
  readonly accounts: number;
  /** Rooms of 3 to 10 made private (members only), and rooms of 2 made direct messages. */
  readonly privateRooms: number;
  readonly directRooms: number;
  /** Chat messages per second, all rooms together, sent on a fixed schedule. */
  readonly rate: number;
  /**
   * First the schedule runs this long unmeasured (the JIT compiles both sides' paths), then the
   * measured window; then deliveries and reconnects may take up to `drainMs` to settle.
   */
  readonly warmUpMs: number;
  readonly windowMs: number;
  readonly drainMs: number;
  /** The share of messages announced by a typing frame, this long before. */
  readonly typingShare: number;
  readonly typingLeadMs: number;
  /** Connections that leave per second, each away for a time in `awayMs`, then back. */
  readonly leavesPerSecond: number;
  readonly awayMs: readonly [number, number];
  /** The share of those that come back with `?after=` (the others join afresh, with history). */
  readonly resumeShare: number;
  /** Connections not there at the start, joining during the window (public rooms only). */
  readonly lateJoiners: number;
  /** A client that has something new sends a read marker this long after it arrived. */
  readonly readDelayMs: readonly [number, number];
  /** What one person sends at most: kept under the server's rate limit (20 per 10 s, bursts of 10). */
  readonly personPerSecond: number;
  readonly personBurst: number;
  readonly seed: number;
}

export type RoomKind = 'public' | 'private' | 'direct';

export interface PlannedRoom {
  /** The bench's name for it; a private room or direct message gets the server's name at set-up. */
  readonly name: string;
  readonly kind: RoomKind;
  readonly size: number;
  /** Relative share of the messages. */
  readonly weight: number;
  /** Indexes into `MixPlan.connections`. */
  readonly connections: readonly number[];
}

export interface PlannedConnection {
  readonly room: number;
  /** Who: persons below `MixPlan.accounts` are accounts (possibly in several rooms), the others guests. */
  readonly person: number;
  /** Not connected at the start: joins at its `join` event. */
  readonly late: boolean;
}

export type MixEvent =
  | { readonly at: number; readonly kind: 'message'; readonly room: number; readonly message: number }
  | { readonly at: number; readonly kind: 'typing'; readonly room: number; readonly message: number }
  | { readonly at: number; readonly kind: 'leave'; readonly connection: number; readonly awayMs: number; readonly resume: boolean }
  | { readonly at: number; readonly kind: 'join'; readonly connection: number };

export interface MixPlan {
  readonly rooms: readonly PlannedRoom[];
  readonly connections: readonly PlannedConnection[];
  readonly persons: number;
  readonly accounts: number;
  /** By time; events at the same time in the order made. */
  readonly events: readonly MixEvent[];
  readonly messages: number;
}

/** A small seeded generator (mulberry32): the same seed, the same plan. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * Room sizes, largest first, summing to `total`: room k has `largest / k^exponent` members
 * (rounded), never fewer than `smallest`; what is left at the end joins the last room when it is
 * too few for a room of its own.
 */
export function zipfRoomSizes(total: number, largest: number, smallest: number, exponent: number): number[] {
  if (total < smallest || largest < smallest || smallest < 1) throw new Error(`no rooms of ${smallest} to ${largest} make ${total}`);
  const sizes: number[] = [];
  let sum = 0;
  for (let k = 1; sum < total; k++) {
    const size = Math.min(total - sum, Math.max(smallest, Math.round(largest / k ** exponent)));
    if (size < smallest) sizes[sizes.length - 1]! += size;
    else sizes.push(size);
    sum += size;
  }
  return sizes;
}

/** Indexes of `count` of `candidates`, spread evenly over them. */
function spread(candidates: readonly number[], count: number): number[] {
  const taken = Math.min(count, candidates.length);
  return Array.from({ length: taken }, (_, index) => candidates[Math.floor((index * candidates.length) / taken)]!);
}

/** Makes the plan of a mix (see the module's comment). */
export function planMix(options: MixOptions): MixPlan {
  const random = seededRandom(options.seed);
  const sizes = zipfRoomSizes(options.clients, options.largestRoom, options.smallestRoom, options.zipfExponent);
  const kinds: RoomKind[] = sizes.map(() => 'public');
  const privateRooms = spread(
    sizes.flatMap((size, index) => (size >= 3 && size <= Math.min(10, options.accounts) ? [index] : [])),
    options.privateRooms,
  );
  for (const index of privateRooms) kinds[index] = 'private';
  const pairs = sizes.flatMap((size, index) => (size === 2 && options.accounts >= 2 ? [index] : []));
  for (const index of pairs.slice(-options.directRooms)) kinds[index] = 'direct';

  // Accounts: private room j is owned by account j (its first member); a direct message is opened
  // by an account counted from the last one. Every account spends at most 10 of its room budget.
  let cursor = 0;
  let opener = options.accounts - 1;
  let privateCount = 0;
  let nextGuest = options.accounts;
  const connections: PlannedConnection[] = [];
  const rooms: PlannedRoom[] = sizes.map((size, index) => {
    const kind = kinds[index]!;
    let persons: number[];
    if (kind === 'private') {
      const owner = privateCount++;
      persons = [owner];
      while (persons.length < size) {
        const next = cursor++ % options.accounts;
        if (!persons.includes(next)) persons.push(next);
      }
    } else if (kind === 'direct') {
      const first = (((opener-- % options.accounts) + options.accounts) % options.accounts);
      let second = cursor++ % options.accounts;
      if (second === first) second = cursor++ % options.accounts;
      persons = [first, second];
    } else {
      persons = Array.from({ length: size }, () => nextGuest++);
    }
    const members = persons.map((person) => connections.push({ room: index, person, late: false }) - 1);
    return { name: `mix-${index}`, kind, size, weight: size ** options.activityExponent, connections: members };
  });

  // Late joiners: guests of public rooms, not there at the start (never a room's only member).
  const publicGuests = rooms.flatMap((room) => (room.kind === 'public' ? room.connections.slice(1) : []));
  const late = new Set<number>();
  while (late.size < Math.min(options.lateJoiners, publicGuests.length)) late.add(publicGuests[Math.floor(random() * publicGuests.length)]!);
  for (const index of late) connections[index] = { ...connections[index]!, late: true };

  const events: MixEvent[] = [];
  const weights = rooms.map((room) => room.weight);
  const totalWeight = weights.reduce((sum, weight) => sum + weight, 0);
  const duration = options.warmUpMs + options.windowMs;
  const messages = Math.round((options.rate * duration) / 1000);
  const interval = 1000 / options.rate;
  for (let message = 0; message < messages; message++) {
    const at = message * interval;
    const room = pick(weights, totalWeight, random());
    if (random() < options.typingShare && at >= options.typingLeadMs) events.push({ at: at - options.typingLeadMs, kind: 'typing', room, message });
    events.push({ at, kind: 'message', room, message });
  }

  // Joins spread over the first half; leaves over the time that lets every one be back by the end.
  const [awayMin, awayMax] = options.awayMs;
  const lateList = [...late];
  lateList.forEach((connection, index) => events.push({ at: ((index + random()) * duration) / 2 / Math.max(1, lateList.length), kind: 'join', connection }));
  const leaveSpan = Math.max(0, duration - awayMax - 1000);
  const leaves = Math.round((options.leavesPerSecond * leaveSpan) / 1000);
  const busyUntil = new Map<number, number>();
  for (const connection of late) busyUntil.set(connection, duration);
  for (let leave = 0; leave < leaves; leave++) {
    const at = (leave + random()) * (leaveSpan / leaves);
    const awayMs = awayMin + random() * (awayMax - awayMin);
    const resume = random() < options.resumeShare;
    const connection = Math.floor(random() * connections.length);
    // One leave at a time per connection, with a second after its return to get back in.
    if ((busyUntil.get(connection) ?? -1) >= at) continue;
    busyUntil.set(connection, at + awayMs + 1000);
    events.push({ at, kind: 'leave', connection, awayMs, resume });
  }
  events.sort((a, b) => a.at - b.at);
  return { rooms, connections, persons: nextGuest, accounts: options.accounts, events, messages };
}

/** The index whose cumulative weight passes `fraction` of the total. */
function pick(weights: readonly number[], total: number, fraction: number): number {
  let left = fraction * total;
  for (let index = 0; index < weights.length; index++) {
    left -= weights[index]!;
    if (left < 0) return index;
  }
  return weights.length - 1;
}

/**
 * Per-person token buckets: a sender is picked only while it has a message to spend, so no
 * person goes over the server's rate limit, whatever room the schedule names.
 */
export class SendBudget {
  readonly #perMs: number;
  readonly #burst: number;
  readonly #tokens = new Map<number, { tokens: number; at: number }>();

  constructor(perSecond: number, burst: number) {
    this.#perMs = perSecond / 1000;
    this.#burst = burst;
  }

  /** Spends one message of `person`'s at `nowMs`; false (and nothing spent) when they have none. */
  take(person: number, nowMs: number): boolean {
    const bucket = this.#tokens.get(person) ?? { tokens: this.#burst, at: nowMs };
    bucket.tokens = Math.min(this.#burst, bucket.tokens + (nowMs - bucket.at) * this.#perMs);
    bucket.at = nowMs;
    this.#tokens.set(person, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }
}

/**
 * A loopback address of the person's own (127.2.0.1 on), as each browser has its own: the
 * server's budgets per client address (messages, sign-ups) are against one address's abuse.
 */
export function personAddress(person: number): string {
  return `127.${2 + Math.floor(person / 62_500)}.${Math.floor(person / 250) % 250}.${(person % 250) + 1}`;
}

/** What a person of the mix does, in both modes. */
const HABITS = {
  smallestRoom: 2,
  activityExponent: 0.5,
  drainMs: 5000,
  typingShare: 0.3,
  typingLeadMs: 800,
  awayMs: [1000, 4000],
  resumeShare: 0.7,
  readDelayMs: [1000, 4000],
  // Half the server's limit (20 per 10 s, bursts of 10): a person's sends are paced under it.
  personPerSecond: 1,
  personBurst: 5,
  seed: 1,
} as const satisfies Partial<MixOptions>;

/** The mix of `npm run bench` (full) and of `--quick`: what differs is how many, how fast, how long. */
export const MIX_MODES: Readonly<Record<'full' | 'quick', MixOptions>> = {
  full: {
    ...HABITS,
    clients: 3000,
    largestRoom: 500,
    zipfExponent: 1,
    accounts: 40,
    privateRooms: 6,
    directRooms: 8,
    rate: 500,
    warmUpMs: 10_000,
    windowMs: 30_000,
    leavesPerSecond: 10,
    lateJoiners: 200,
  },
  quick: {
    ...HABITS,
    clients: 400,
    largestRoom: 100,
    zipfExponent: 1.2,
    accounts: 12,
    privateRooms: 2,
    directRooms: 3,
    rate: 150,
    warmUpMs: 2_000,
    windowMs: 10_000,
    leavesPerSecond: 5,
    lateJoiners: 30,
  },
};

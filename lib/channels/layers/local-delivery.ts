import { randomBytes } from 'node:crypto';
import { assertChannelName, type ChannelReceiver, type LayerMessage } from './types';

export interface LocalDeliveryOptions {
  /** Undelivered messages a channel may hold (default 100, as in Django Channels). */
  readonly capacity?: number;
  /** Lifetime of a group membership after its last `groupAdd` (default 24 h). */
  readonly groupExpiryMs?: number;
  /** The clock, for tests. */
  readonly now?: () => number;
}

export type DeliveryOutcome = 'delivered' | 'full' | 'absent';

/**
 * The channels and group memberships held in this process, and delivery to them. Every layer
 * delivers through it: the in-memory layer for everything, the Redis layer for what reaches this
 * process. Delivery is synchronous and hands every member the same message object, so the
 * transport serialises a group message once for all of them.
 */
export class LocalDelivery {
  readonly capacity: number;
  readonly groupExpiryMs: number;
  /** Part of every channel name made here, so a channel name says which process holds it. */
  readonly processId = randomBytes(6).toString('hex');
  readonly #now: () => number;
  readonly #receivers = new Map<string, ChannelReceiver>();
  /** group name → channel → membership expiry time */
  readonly #groups = new Map<string, Map<string, number>>();
  #counter = 0;

  constructor(options: LocalDeliveryOptions = {}) {
    this.capacity = positive('capacity', options.capacity ?? 100);
    this.groupExpiryMs = positive('groupExpiryMs', options.groupExpiryMs ?? 86_400_000);
    this.#now = options.now ?? Date.now;
  }

  newChannel(prefix: string): string {
    const name = `${prefix}.${this.processId}!${(this.#counter++).toString(36)}`;
    assertChannelName(name);
    return name;
  }

  /** The process id inside a channel name made by `newChannel`, if any. */
  static processOf(channel: string): string | null {
    const bang = channel.indexOf('!');
    if (bang === -1) return null;
    return channel.slice(channel.lastIndexOf('.', bang) + 1, bang);
  }

  attach(channel: string, receiver: ChannelReceiver): void {
    this.#receivers.set(channel, receiver);
  }

  detach(channel: string): void {
    this.#receivers.delete(channel);
  }

  receivers(): IterableIterator<ChannelReceiver> {
    return this.#receivers.values();
  }

  deliver(channel: string, message: LayerMessage): DeliveryOutcome {
    const receiver = this.#receivers.get(channel);
    if (receiver === undefined) return 'absent';
    if (receiver.backlog >= this.capacity) {
      receiver.overflowed?.(message);
      return 'full';
    }
    receiver.deliver(message);
    return 'delivered';
  }

  /** Adds or renews a membership; true when the channel is the group's first local member. */
  groupAdd(group: string, channel: string): boolean {
    let members = this.#groups.get(group);
    const first = members === undefined;
    if (members === undefined) {
      members = new Map();
      this.#groups.set(group, members);
    }
    members.set(channel, this.#now() + this.groupExpiryMs);
    return first;
  }

  /** Ends a membership; true when the group has no local member left. */
  groupDiscard(group: string, channel: string): boolean {
    const members = this.#groups.get(group);
    if (members === undefined) return false;
    members.delete(channel);
    if (members.size > 0) return false;
    this.#groups.delete(group);
    return true;
  }

  /** The groups with at least one local member. */
  groups(): IterableIterator<string> {
    return this.#groups.keys();
  }

  /** Delivers to every live local member, skipping full ones; true when the group is now empty here. */
  groupSend(group: string, message: LayerMessage): boolean {
    const members = this.#groups.get(group);
    if (members === undefined) return false;
    const now = this.#now();
    for (const [channel, expiresAt] of members) {
      if (expiresAt <= now) members.delete(channel);
      else this.deliver(channel, message);
    }
    if (members.size > 0) return false;
    this.#groups.delete(group);
    return true;
  }

  clear(): void {
    this.#receivers.clear();
    this.#groups.clear();
  }
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) {
    throw new RangeError(`${name} must be a positive number, got ${value}`);
  }
  return value;
}

import { randomBytes } from 'node:crypto';
import { assertChannelName, type ChannelLayerOptions, type ChannelReceiver, type LayerMessage } from './types';

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
  readonly #groups = new Map<string, LocalGroup>();
  /** Counts the changes to channels and memberships: a group's ready list is good while it holds. */
  #version = 0;
  #counter = 0;

  constructor(options: ChannelLayerOptions = {}) {
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
    this.#version++;
  }

  detach(channel: string): void {
    if (this.#receivers.delete(channel)) this.#version++;
  }

  receivers(): IterableIterator<ChannelReceiver> {
    return this.#receivers.values();
  }

  /** Channels attached now. */
  get receiverCount(): number {
    return this.#receivers.size;
  }

  deliver(channel: string, message: LayerMessage): DeliveryOutcome {
    const receiver = this.#receivers.get(channel);
    if (receiver === undefined) return 'absent';
    return this.#deliverTo(receiver, message) ? 'delivered' : 'full';
  }

  /** Hands the message over unless the receiver is full (it then hears of the refusal). */
  #deliverTo(receiver: ChannelReceiver, message: LayerMessage): boolean {
    if (receiver.backlog >= this.capacity) {
      receiver.overflowed?.(message);
      return false;
    }
    receiver.deliver(message);
    return true;
  }

  /** Adds or renews a membership; true when the channel is the group's first local member. */
  groupAdd(group: string, channel: string): boolean {
    let local = this.#groups.get(group);
    const first = local === undefined;
    if (local === undefined) {
      local = new LocalGroup();
      this.#groups.set(group, local);
    }
    local.members.set(channel, this.#now() + this.groupExpiryMs);
    this.#version++;
    return first;
  }

  /** Ends a membership; true when the group has no local member left. */
  groupDiscard(group: string, channel: string): boolean {
    const local = this.#groups.get(group);
    if (local === undefined) return false;
    if (local.members.delete(channel)) this.#version++;
    if (local.members.size > 0) return false;
    this.#groups.delete(group);
    return true;
  }

  /** The groups with at least one local member. */
  groups(): IterableIterator<string> {
    return this.#groups.keys();
  }

  /**
   * Delivers to every live local member, skipping full ones; true when the group is now empty here.
   * The group's receivers are looked up once and kept in a list until a channel or membership
   * changes: a broadcast to a big room then reads one list, where looking each member up in the
   * channels' table cost a few memory reads per member that the cache rarely held (the sockets'
   * writes since the last broadcast had pushed them out). `except` (checked names) leaves out
   * the channels it names.
   */
  groupSend(group: string, message: LayerMessage, except?: readonly string[]): boolean {
    const local = this.#groups.get(group);
    if (local === undefined) return false;
    const now = this.#now();
    if (local.readyAt !== this.#version || now >= local.earliestExpiry) {
      this.#prepare(local, now);
      if (local.members.size === 0) {
        this.#groups.delete(group);
        return true;
      }
    }
    if (except !== undefined) {
      this.#deliverExcept(local, message, except);
      return false;
    }
    const version = this.#version;
    const { channels, receivers } = local;
    for (let index = 0; index < receivers.length; index++) {
      const receiver = receivers[index]!;
      // A delivery that detached a channel (a consumer closing) leaves the list behind: from there
      // on, each channel is looked up again.
      if (this.#version !== version && this.#receivers.get(channels[index]!) !== receiver) continue;
      this.#deliverTo(receiver, message);
    }
    return false;
  }

  /**
   * `groupSend`'s loop when some channels are excepted, apart so that a plain broadcast pays
   * nothing for it. The excepted channels' receivers are looked up once and each member's
   * receiver compared with them by identity: a member's channel name (one more object to read
   * per member) is read only for a receiver that matches, in case it is attached under two names.
   */
  #deliverExcept(local: LocalGroup, message: LayerMessage, except: readonly string[]): void {
    const skipped: ChannelReceiver[] = [];
    for (const channel of except) {
      const receiver = this.#receivers.get(channel);
      if (receiver !== undefined) skipped.push(receiver);
    }
    const version = this.#version;
    const { channels, receivers } = local;
    for (let index = 0; index < receivers.length; index++) {
      const receiver = receivers[index]!;
      if (this.#version !== version && this.#receivers.get(channels[index]!) !== receiver) continue;
      let excepted = false;
      for (let at = 0; at < skipped.length; at++) {
        if (skipped[at] === receiver) {
          excepted = except.includes(channels[index]!);
          break;
        }
      }
      if (!excepted) this.#deliverTo(receiver, message);
    }
  }

  /** Drops the group's expired memberships and lists the receivers of the others. */
  #prepare(local: LocalGroup, now: number): void {
    const channels: string[] = [];
    const receivers: ChannelReceiver[] = [];
    let earliestExpiry = Number.POSITIVE_INFINITY;
    for (const [channel, expiresAt] of local.members.entries()) {
      if (expiresAt <= now) {
        local.members.delete(channel);
        this.#version++;
        continue;
      }
      earliestExpiry = Math.min(earliestExpiry, expiresAt);
      const receiver = this.#receivers.get(channel);
      if (receiver === undefined) continue;
      channels.push(channel);
      receivers.push(receiver);
    }
    local.channels = channels;
    local.receivers = receivers;
    local.earliestExpiry = earliestExpiry;
    local.readyAt = this.#version;
  }

  clear(): void {
    this.#receivers.clear();
    this.#groups.clear();
    this.#version++;
  }
}

/**
 * A group's local memberships: channel → expiry time. Most groups here have one member (a
 * person's own group, on each of thousands of idle connections): that one is two fields, and a
 * Map (some 200 bytes even for one entry) is made at the second.
 */
export class Memberships {
  #soleChannel: string | null = null;
  #soleExpiry = 0;
  #many: Map<string, number> | null = null;

  get size(): number {
    return this.#many !== null ? this.#many.size : this.#soleChannel === null ? 0 : 1;
  }

  set(channel: string, expiresAt: number): void {
    if (this.#many !== null) {
      this.#many.set(channel, expiresAt);
    } else if (this.#soleChannel === null || this.#soleChannel === channel) {
      this.#soleChannel = channel;
      this.#soleExpiry = expiresAt;
    } else {
      this.#many = new Map([[this.#soleChannel, this.#soleExpiry], [channel, expiresAt]]);
      this.#soleChannel = null;
    }
  }

  /** True when the channel was a member. */
  delete(channel: string): boolean {
    if (this.#many !== null) return this.#many.delete(channel);
    if (this.#soleChannel !== channel) return false;
    this.#soleChannel = null;
    return true;
  }

  /** The memberships, oldest first; deleting while iterating is allowed. */
  entries(): Iterable<readonly [string, number]> {
    if (this.#many !== null) return this.#many;
    return this.#soleChannel === null ? [] : [[this.#soleChannel, this.#soleExpiry]];
  }
}

/** One group's local members, and the list of their receivers as of `readyAt`. */
class LocalGroup {
  readonly members = new Memberships();
  /** The attached members' channels and receivers, in the same order. */
  channels: readonly string[] = [];
  receivers: readonly ChannelReceiver[] = [];
  /** The change count the lists were made at (-1: never). */
  readyAt = -1;
  /** The first time a membership in the lists expires. */
  earliestExpiry = 0;
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) {
    throw new RangeError(`${name} must be a positive number, got ${value}`);
  }
  return value;
}

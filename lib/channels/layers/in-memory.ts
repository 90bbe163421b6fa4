import { randomBytes } from 'node:crypto';
import { ChannelFull } from '../errors';
import {
  assertChannelName,
  assertGroupName,
  assertLayerMessage,
  type ChannelLayer,
  type ChannelReceiver,
  type LayerMessage,
} from './types';

export interface InMemoryChannelLayerOptions {
  /** Undelivered messages a channel may hold (default 100, as in Django Channels). */
  readonly capacity?: number;
  /** Lifetime of a group membership after its last `groupAdd` (default 24 h). */
  readonly groupExpiryMs?: number;
  /** The clock, for tests. */
  readonly now?: () => number;
}

/**
 * The default layer: one process, no dependencies. Delivery is synchronous, so a group message
 * reaches every member as the same object (the transport serialises it once for all of them).
 */
export class InMemoryChannelLayer implements ChannelLayer {
  readonly capacity: number;
  readonly groupExpiryMs: number;
  readonly #now: () => number;
  readonly #receivers = new Map<string, ChannelReceiver>();
  /** group name → channel → membership expiry time */
  readonly #groups = new Map<string, Map<string, number>>();
  readonly #prefix = randomBytes(6).toString('hex');
  #counter = 0;

  constructor(options: InMemoryChannelLayerOptions = {}) {
    this.capacity = positive('capacity', options.capacity ?? 100);
    this.groupExpiryMs = positive('groupExpiryMs', options.groupExpiryMs ?? 86_400_000);
    this.#now = options.now ?? Date.now;
  }

  newChannel(prefix = 'specific'): string {
    const name = `${prefix}.${this.#prefix}!${(this.#counter++).toString(36)}`;
    assertChannelName(name);
    return name;
  }

  attach(channel: string, receiver: ChannelReceiver): void {
    assertChannelName(channel);
    this.#receivers.set(channel, receiver);
  }

  detach(channel: string): void {
    this.#receivers.delete(channel);
  }

  async send(channel: string, message: LayerMessage): Promise<void> {
    assertChannelName(channel);
    assertLayerMessage(message);
    const receiver = this.#receivers.get(channel);
    if (receiver === undefined) return;
    if (receiver.backlog >= this.capacity) {
      receiver.overflowed?.(message);
      throw new ChannelFull(channel, this.capacity);
    }
    receiver.deliver(message);
  }

  async groupAdd(group: string, channel: string): Promise<void> {
    assertGroupName(group);
    assertChannelName(channel);
    let members = this.#groups.get(group);
    if (members === undefined) {
      members = new Map();
      this.#groups.set(group, members);
    }
    members.set(channel, this.#now() + this.groupExpiryMs);
  }

  async groupDiscard(group: string, channel: string): Promise<void> {
    assertGroupName(group);
    assertChannelName(channel);
    const members = this.#groups.get(group);
    if (members === undefined) return;
    members.delete(channel);
    if (members.size === 0) this.#groups.delete(group);
  }

  async groupSend(group: string, message: LayerMessage): Promise<void> {
    assertGroupName(group);
    assertLayerMessage(message);
    const members = this.#groups.get(group);
    if (members === undefined) return;
    const now = this.#now();
    for (const [channel, expiresAt] of members) {
      if (expiresAt <= now) {
        members.delete(channel);
        continue;
      }
      const receiver = this.#receivers.get(channel);
      if (receiver === undefined) continue;
      if (receiver.backlog >= this.capacity) receiver.overflowed?.(message);
      else receiver.deliver(message);
    }
    if (members.size === 0) this.#groups.delete(group);
  }

  async close(): Promise<void> {
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

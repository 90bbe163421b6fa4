import { ChannelFull } from '../errors';
import { LocalDelivery } from './local-delivery';
import {
  assertChannelName,
  assertGroupName,
  assertLayerMessage,
  type ChannelLayer,
  type ChannelLayerOptions,
  type ChannelReceiver,
  exceptedChannels,
  type GroupSendOptions,
  type LayerMessage,
} from './types';

/** How much an {@link InMemoryChannelLayer} holds; the same options as every layer's. */
export type InMemoryChannelLayerOptions = ChannelLayerOptions;

/**
 * The default layer: one process, no dependencies. Delivery is synchronous, so a group message
 * reaches every member as the same object (the transport serialises it once for all of them).
 */
export class InMemoryChannelLayer implements ChannelLayer {
  readonly #local: LocalDelivery;

  constructor(options: InMemoryChannelLayerOptions = {}) {
    this.#local = new LocalDelivery(options);
  }

  get capacity(): number {
    return this.#local.capacity;
  }

  get groupExpiryMs(): number {
    return this.#local.groupExpiryMs;
  }

  newChannel(prefix = 'specific'): string {
    return this.#local.newChannel(prefix);
  }

  attach(channel: string, receiver: ChannelReceiver): void {
    assertChannelName(channel);
    this.#local.attach(channel, receiver);
  }

  detach(channel: string): void {
    this.#local.detach(channel);
  }

  async send(channel: string, message: LayerMessage): Promise<void> {
    assertChannelName(channel);
    assertLayerMessage(message);
    if (this.#local.deliver(channel, message) === 'full') throw new ChannelFull(channel, this.capacity);
  }

  async groupAdd(group: string, channel: string): Promise<void> {
    assertGroupName(group);
    assertChannelName(channel);
    this.#local.groupAdd(group, channel);
  }

  async groupDiscard(group: string, channel: string): Promise<void> {
    assertGroupName(group);
    assertChannelName(channel);
    this.#local.groupDiscard(group, channel);
  }

  async groupSend(group: string, message: LayerMessage, options?: GroupSendOptions): Promise<void> {
    assertGroupName(group);
    assertLayerMessage(message);
    this.#local.groupSend(group, message, exceptedChannels(options));
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {
    this.#local.clear();
  }
}

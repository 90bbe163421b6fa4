import { InvalidName } from '../errors';

/** A message on the channel layer: a plain JSON object with a dotted `type`, like `chat.message`. */
export interface LayerMessage {
  /** Dotted words (`chat.message`): the name of the consumer method that handles it. */
  readonly type: string;
  readonly [field: string]: unknown;
}

/**
 * Takes the messages of one channel, in order. The layer checks `backlog` against its capacity
 * before each delivery; a receiver that is `full` is told once per refused message.
 */
export interface ChannelReceiver {
  /** Messages delivered and not yet handled. */
  readonly backlog: number;
  /** Takes one message; the layer delivers a group message to every member as the same object. */
  deliver(message: LayerMessage): void;
  /** Called when a message for this channel is refused because `backlog` reached capacity. */
  overflowed?(message: LayerMessage): void;
  /**
   * Called when the layer may have lost messages for this channel (its connection to other
   * processes dropped and came back): the receiver should catch up from its source of truth.
   */
  resync?(): void;
}

/**
 * Moves messages between consumers, within one process or across several. A channel is a mailbox
 * held by one consumer while it is connected; a group is a named set of channels.
 *
 * Semantics every implementation keeps (`channelLayerConformance`, in
 * `next-channels/testing/layer-conformance`, checks them):
 * - messages to one channel arrive in the order they were sent from one process;
 * - a message to a channel nobody holds is dropped: channels exist only while attached;
 * - `send` to a channel whose backlog reached `capacity` rejects with `ChannelFull`;
 *   `groupSend` skips such a member (the receiver's `overflowed` hook hears of it) and still
 *   reaches the others;
 * - `groupSend` with `except` reaches no channel it names, in any process, and every other member;
 * - a group membership lasts `groupExpiryMs` after its last `groupAdd`, so members lost without a
 *   `groupDiscard` (a crashed process) eventually stop receiving;
 * - a layer that cannot promise it delivered everything (a lost connection between processes)
 *   calls `resync` on its receivers once it is whole again.
 */
export interface ChannelLayer {
  /** Undelivered messages a channel may hold before it counts as full. */
  readonly capacity: number;
  /** How long a group membership lasts after its last `groupAdd`, in milliseconds. */
  readonly groupExpiryMs: number;
  /** A new channel name, unique across every process sharing this layer. */
  newChannel(prefix?: string): string;
  /** Starts delivering the channel's messages to `receiver`. */
  attach(channel: string, receiver: ChannelReceiver): void;
  /** Stops delivering; later messages to the channel are dropped. */
  detach(channel: string): void;
  /**
   * Sends to one channel. Rejects with `ChannelFull` when its backlog reached `capacity`, and with
   * `InvalidName` for a bad channel name or event type; a channel nobody holds drops it.
   */
  send(channel: string, message: LayerMessage): Promise<void>;
  /** Adds a channel to a group, or renews its membership for another `groupExpiryMs`. */
  groupAdd(group: string, channel: string): Promise<void>;
  /** Takes a channel out of a group; nothing happens when it was not in it. */
  groupDiscard(group: string, channel: string): Promise<void>;
  /**
   * Sends to every channel in a group, in every process. A member whose channel is full is
   * skipped (its receiver's `overflowed` hears of it); the others still get the message.
   * `options.except` leaves out the channels it names, wherever they are held ("everyone but
   * me"). Rejects with `InvalidName` for a bad group, event type or excepted channel name, and
   * with `TypeError` or `RangeError` for an `except` that is not a name or a short list of them.
   */
  groupSend(group: string, message: LayerMessage, options?: GroupSendOptions): Promise<void>;
  /** Resolves when the layer can reach every process (readiness checks); rejects with why not. */
  ping(): Promise<void>;
  /** Releases connections and timers. */
  close(): Promise<void>;
}

/**
 * How a `groupSend` is narrowed.
 *
 * @example
 * ```ts
 * // In a consumer: everyone in the room but the sender's own connection.
 * await this.groupSend(room, { type: 'chat.typing', user }, { except: this.channelName });
 * ```
 */
export interface GroupSendOptions {
  /**
   * Channels the message skips, in every process: one channel name, or a list of at most 8.
   * A name that is not in the group (or not held anywhere) changes
   * nothing. To leave out many members, give them a group of their own instead.
   */
  readonly except?: string | readonly string[];
}

/**
 * The most channels one `groupSend` may except. The names may travel with the message to every
 * process, and each member is compared with each of them, so the list stays short.
 */
const MAX_EXCEPT_CHANNELS = 8;

/** What every layer of this package takes: how much a channel holds, how long memberships last. */
export interface ChannelLayerOptions {
  /** Undelivered messages a channel may hold (default 100, as in Django Channels). */
  readonly capacity?: number;
  /** Lifetime of a group membership after its last `groupAdd` (default 24 h). */
  readonly groupExpiryMs?: number;
  /** The clock in milliseconds (default `Date.now`), so tests can expire memberships without waiting. */
  readonly now?: () => number;
}

const GROUP_NAME = /^[A-Za-z0-9_\-.]{1,100}$/;
const CHANNEL_NAME = /^[A-Za-z0-9_\-.]{1,100}(![A-Za-z0-9_\-.]{1,100})?$/;
const EVENT_TYPE = /^[A-Za-z0-9_\-]+(\.[A-Za-z0-9_\-]+)+$/;

export function assertGroupName(name: string): void {
  if (typeof name !== 'string' || !GROUP_NAME.test(name)) {
    throw new InvalidName('group', name, 'letters, digits, "-", "_" or ".", at most 100');
  }
}

export function assertChannelName(name: string): void {
  if (typeof name !== 'string' || !CHANNEL_NAME.test(name)) {
    throw new InvalidName('channel', name, 'letters, digits, "-", "_" or ".", with at most one "!"');
  }
}

/** Event types are dotted (`chat.message`), so they can never name a consumer's own methods. */
export function assertLayerMessage(message: LayerMessage): void {
  if (typeof message !== 'object' || message === null || !EVENT_TYPE.test(message.type)) {
    throw new InvalidName('event type', message?.type, 'dotted words such as "chat.message"');
  }
}

/**
 * The channels `options.except` names, checked; `undefined` when it names none, so a plain
 * `groupSend` takes the path it always took.
 */
export function exceptedChannels(options: GroupSendOptions | undefined): readonly string[] | undefined {
  const except: unknown = options?.except;
  if (except === undefined) return undefined;
  if (typeof except === 'string') {
    assertChannelName(except);
    return [except];
  }
  if (!Array.isArray(except)) {
    throw new TypeError(`groupSend's except must be a channel name or an array of them, got ${typeof except}`);
  }
  if (except.length > MAX_EXCEPT_CHANNELS) {
    throw new RangeError(`groupSend's except names at most ${MAX_EXCEPT_CHANNELS} channels, got ${except.length}`);
  }
  if (except.length === 0) return undefined;
  for (const name of except as unknown[]) assertChannelName(name as string);
  return except as readonly string[];
}

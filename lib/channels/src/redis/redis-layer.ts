import Redis from 'ioredis';
import { ChannelFull } from '../errors';
import { FlushPacer } from '../flush-pacer';
import { type Logger, silentLogger } from '../logger';
import { Reachability } from '../reachability';
import { LocalDelivery } from '../layers/local-delivery';
import { PublishBatch, unbatch } from './publish-batch';
import { redisConnectionOptions, RedisSupervisor, type RedisTimeouts } from './supervisor';
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
} from '../layers/types';

/** How a {@link RedisChannelLayer} connects, and how long it waits for Redis. */
export interface RedisChannelLayerOptions extends ChannelLayerOptions, RedisTimeouts {
  /** `redis://[user:password@]host:port[/db]` */
  readonly url: string;
  /** Prefix of every Redis channel this layer uses, so several sites can share one Redis. */
  readonly prefix?: string;
  /** Where the layer reports Redis going and coming back (default nowhere). */
  readonly logger?: Logger;
  /**
   * The process's write pacer, the one the `SocketServer` has: publishes go out in its flushes,
   * with the socket writes (a new one by default, which paces apart).
   */
  readonly pacer?: FlushPacer;
  /** How long `connect` waits for Redis before giving up (default 5 s). */
  readonly connectTimeoutMs?: number;
  /**
   * How long a publish waits for the connection to Redis to come back while it reconnects
   * (default 2 s): a blip costs a short delay rather than a resync of every process.
   */
  readonly publishWaitMs?: number;
  /**
   * How long a `groupAdd` waits for Redis to confirm the subscription (default 1 s). A consumer
   * joining while Redis is away is not held up: it joins locally at once, the subscription is made
   * when Redis is back, and what it missed meanwhile reaches it through `resync`.
   */
  readonly subscribeWaitMs?: number;
}

/** A message for a channel held by another process, carried on that process's own Redis channel. */
type Remote = { readonly channel: string; readonly message: LayerMessage };

/**
 * A group message with channels to skip, as it crosses on the group's Redis channel among plain
 * messages. It has no `type`, which every `LayerMessage` has: that is how a reader tells them apart.
 */
type Excepting = { readonly type?: undefined; readonly except: readonly string[]; readonly message: LayerMessage };

/**
 * The channel layer across processes, over Redis pub/sub. Each process keeps its own channels and
 * group memberships (as the in-memory layer does) and subscribes to a Redis channel per group it
 * has members in, so a group message costs one PUBLISH however many processes and members there
 * are; each process parses it once and hands the same object to all its members. Members in the
 * sending process get it at once, without the round trip. What is published waits for the
 * process's next paced flush, with the socket writes (see `PublishBatch`): under load, one
 * PUBLISH per channel carries every message of the moment, in order.
 *
 * Pub/sub does not keep messages for a process that is disconnected. When a connection to Redis
 * drops and comes back, the layer resubscribes, calls `resync` on every local receiver, and tells
 * the other processes to do the same, so consumers fill the gap from their store.
 *
 * Semantics beyond the interface: `send` to a channel of another process cannot report
 * `ChannelFull` (the message is dropped there, and its receiver is told); `groupAdd` and
 * `groupDiscard` take channels of this process only (a consumer joins groups itself), so a
 * membership lives, and expires, where its channel is.
 */
export class RedisChannelLayer implements ChannelLayer {
  readonly #local: LocalDelivery;
  readonly #prefix: string;
  readonly #logger: Logger;
  readonly #publisher: Redis;
  readonly #subscriber: Redis;
  readonly #processChannel: string;
  readonly #resyncChannel: string;
  readonly #batch: PublishBatch;
  readonly #publishWaitMs: number;
  readonly #subscribeWaitMs: number;
  readonly #reachability: Reachability;
  readonly #supervisor: RedisSupervisor;
  /** The subscriber is resubscribing after a loss: the layer is not whole again until it has. */
  #resubscribing = false;
  /** A publish failed while Redis was unreachable: the other processes must catch up. */
  #publishLost = false;
  #subscriberWasLost = false;
  #closed = false;

  private constructor(options: RedisChannelLayerOptions) {
    this.#batch = new PublishBatch((payloads) => this.#publishAll(payloads), options.pacer ?? new FlushPacer());
    this.#local = new LocalDelivery(options);
    this.#prefix = options.prefix ?? 'channels';
    this.#logger = options.logger ?? silentLogger;
    this.#processChannel = `${this.#prefix}:p:${this.#local.processId}`;
    this.#resyncChannel = `${this.#prefix}:resync`;
    this.#publishWaitMs = options.publishWaitMs ?? 2_000;
    this.#subscribeWaitMs = options.subscribeWaitMs ?? 1_000;
    this.#reachability = new Reachability('redis', this.#logger);
    const common = redisConnectionOptions(options, `channels-${this.#local.processId}`);
    this.#publisher = new Redis(options.url, common);
    this.#subscriber = new Redis(options.url, { ...common, autoResubscribe: false });
    this.#supervisor = new RedisSupervisor({ publisher: this.#publisher, subscriber: this.#subscriber }, options, {
      lost: (role, reason) => {
        if (this.#closed) return;
        if (role === 'subscriber') this.#subscriberWasLost = true;
        this.#reachability.lost(reason, { role });
      },
      ready: (role) => {
        if (role === 'publisher') this.#publisherReady();
        else this.#subscriberReady();
        this.#maybeWhole();
      },
    });
    this.#subscriber.on('message', (channel: string, payload: string) => this.#onMessage(channel, payload));
  }

  /** Connects to Redis; rejects with one clear line when it cannot be reached in time. */
  static async connect(options: RedisChannelLayerOptions): Promise<RedisChannelLayer> {
    const layer = new RedisChannelLayer(options);
    const timeoutMs = options.connectTimeoutMs ?? 5_000;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        Promise.all([layer.#publisher.connect(), layer.#subscriber.connect()]),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`cannot reach Redis at ${redactUrl(options.url)} within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
      await layer.#subscribeAll();
    } catch (error) {
      await layer.close();
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(reason.startsWith('cannot reach Redis') ? reason : `cannot reach Redis at ${redactUrl(options.url)}: ${reason}`);
    } finally {
      clearTimeout(timer);
    }
    return layer;
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
    if (this.#isLocal(channel)) {
      if (this.#local.deliver(channel, message) === 'full') throw new ChannelFull(channel, this.capacity);
      return;
    }
    // Not awaited: a send never waits on Redis (see groupSend).
    void this.#batch.add(`${this.#prefix}:p:${LocalDelivery.processOf(channel)}`, JSON.stringify({ channel, message } satisfies Remote));
  }

  async groupAdd(group: string, channel: string): Promise<void> {
    assertGroupName(group);
    assertChannelName(channel);
    this.#assertLocal(channel);
    if (this.#local.groupAdd(group, channel)) await this.#subscribe(this.#groupChannel(group), this.#subscribeWaitMs);
  }

  async groupDiscard(group: string, channel: string): Promise<void> {
    assertGroupName(group);
    assertChannelName(channel);
    this.#assertLocal(channel);
    if (this.#local.groupDiscard(group, channel)) this.#unsubscribe(this.#groupChannel(group));
  }

  async groupSend(group: string, message: LayerMessage, options?: GroupSendOptions): Promise<void> {
    assertGroupName(group);
    assertLayerMessage(message);
    const except = exceptedChannels(options);
    if (this.#local.groupSend(group, message, except)) this.#unsubscribe(this.#groupChannel(group));
    // Only names another process may hold cross: "everyone but me" from a consumer publishes
    // the plain message, as a send without except does.
    const elsewhere = except?.filter((channel) => LocalDelivery.processOf(channel) !== this.#local.processId);
    const json = elsewhere === undefined || elsewhere.length === 0 ? JSON.stringify(message) : JSON.stringify({ except: elsewhere, message } satisfies Excepting);
    // Not awaited: the members of this process have it already, and the others get it at the
    // next flush, or, if Redis cannot take it in time, through a resync once it is back. A
    // sender never waits on Redis, so local delivery keeps flowing while Redis is away.
    void this.#batch.add(this.#groupChannel(group), json);
  }

  async ping(): Promise<void> {
    if (this.#subscriber.status !== 'ready') throw new Error(`redis subscriber is ${this.#subscriber.status}`);
    await this.#publisher.ping();
  }

  async close(): Promise<void> {
    await this.#batch.drain();
    this.#closed = true;
    this.#supervisor.close();
    this.#local.clear();
    this.#publisher.disconnect();
    this.#subscriber.disconnect();
  }

  // ---- Redis ----

  #groupChannel(group: string): string {
    return `${this.#prefix}:g:${group}`;
  }

  #isLocal(channel: string): boolean {
    const owner = LocalDelivery.processOf(channel);
    return owner === null || owner === this.#local.processId;
  }

  #assertLocal(channel: string): void {
    if (!this.#isLocal(channel)) throw new Error(`${channel} belongs to another process: only its own consumer can join or leave groups with it`);
  }

  /**
   * Publishes each payload with this process's id in front, so this process can skip its own
   * group messages (already delivered locally) without parsing them; several channels go in one
   * pipeline. A failure is not the caller's: the messages are noted as lost and the other
   * processes resync once Redis is back.
   */
  async #publishAll(payloads: ReadonlyMap<string, string>): Promise<void> {
    const origin = `${this.#local.processId} `;
    try {
      if (this.#publisher.status !== 'ready') await this.#publisherBack();
      if (payloads.size === 1) {
        for (const [channel, payload] of payloads) await this.#publisher.publish(channel, origin + payload);
        return;
      }
      const pipeline = this.#publisher.pipeline();
      for (const [channel, payload] of payloads) pipeline.publish(channel, origin + payload);
      const failed = (await pipeline.exec())?.find(([error]) => error !== null);
      if (failed) throw failed[0];
    } catch (error) {
      if (!this.#publishLost) this.#logger.debug('redis publish given up; the other processes will resync', { error });
      this.#publishLost = true;
      // Unanswered (a silent partition, a lossy link): the connection is made again.
      if (!this.#closed) this.#supervisor.failed('publisher', error);
    }
  }

  /** Resolves when the publisher is ready again, rejects after `publishWaitMs` (or at once when closed). */
  #publisherBack(): Promise<void> {
    const publisher = this.#publisher;
    if (this.#closed || publisher.status === 'end') return Promise.reject(new Error('the redis publisher is closed'));
    return new Promise((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        publisher.off('ready', done);
        resolve();
      };
      const timer = setTimeout(() => {
        publisher.off('ready', done);
        reject(new Error(`redis did not come back within ${this.#publishWaitMs} ms`));
      }, this.#publishWaitMs);
      publisher.on('ready', done);
    });
  }

  /**
   * Subscribes, waiting at most `waitMs` for Redis to confirm. While Redis is away the
   * subscription is made on reconnect (see #subscribeAll), followed by a resync.
   */
  async #subscribe(channel: string, waitMs: number): Promise<void> {
    if (this.#subscriber.status !== 'ready') return;
    let timer: NodeJS.Timeout | undefined;
    const subscribed = this.#subscriber.subscribe(channel).then(
      () => undefined,
      (error: unknown) => this.#logger.debug('redis subscribe failed; made again on reconnect', { channel, error }),
    );
    await Promise.race([subscribed, new Promise<void>((resolve) => (timer = setTimeout(resolve, waitMs)))]).finally(() => clearTimeout(timer));
  }

  #unsubscribe(channel: string): void {
    if (this.#subscriber.status !== 'ready') return;
    this.#subscriber.unsubscribe(channel).catch(() => {
      // A stale subscription only costs a message that finds no member.
    });
  }

  /** Subscribes to this process's channels: its own, the resync notices, and every local group. */
  async #subscribeAll(): Promise<void> {
    const channels = [this.#processChannel, this.#resyncChannel];
    for (const group of this.#local.groups()) channels.push(this.#groupChannel(group));
    await this.#subscriber.subscribe(...channels);
  }

  #onMessage(channel: string, payload: string): void {
    const space = payload.indexOf(' ');
    const origin = payload.slice(0, space);
    if (origin === this.#local.processId && channel !== this.#processChannel) return;
    try {
      if (channel === this.#resyncChannel) {
        this.#resyncReceivers();
      } else if (channel === this.#processChannel) {
        for (const remote of unbatch(payload.slice(space + 1)) as Remote[]) this.#local.deliver(remote.channel, remote.message);
      } else {
        const group = channel.slice(this.#prefix.length + 3);
        let empty = false;
        for (const item of unbatch(payload.slice(space + 1)) as Array<LayerMessage | Excepting>) {
          empty = item.type === undefined ? this.#local.groupSend(group, item.message, item.except) : this.#local.groupSend(group, item);
        }
        if (empty) this.#unsubscribe(channel);
      }
    } catch (error) {
      this.#logger.error('unreadable message on the redis layer', { channel, error });
    }
  }

  #resyncReceivers(): void {
    for (const receiver of this.#local.receivers()) receiver.resync?.();
  }

  // ---- connection health ----

  #publisherReady(): void {
    if (!this.#publishLost) return;
    this.#publishLost = false;
    void this.#batch.add(this.#resyncChannel, '{}');
  }

  #subscriberReady(): void {
    if (!this.#subscriberWasLost) return;
    this.#subscriberWasLost = false;
    this.#resubscribing = true;
    this.#subscribeAll().then(
      () => {
        // Group messages published while this process was away are gone: catch up, and have
        // every other process do the same (our own publishes may have been lost too).
        this.#resubscribing = false;
        this.#resyncReceivers();
        void this.#batch.add(this.#resyncChannel, '{}');
        this.#maybeWhole();
      },
      (error: unknown) => {
        // The connection dropped again meanwhile: its next 'ready' tries again.
        this.#resubscribing = false;
        this.#subscriberWasLost = true;
        this.#logger.debug('could not resubscribe to redis; trying again on reconnect', { error });
      },
    );
  }

  /** Once both connections are back and the subscriptions made again, the outage is over. */
  #maybeWhole(): void {
    if (this.#closed || this.#resubscribing || this.#subscriberWasLost || !this.#supervisor.allReady) return;
    this.#reachability.back({ resyncedConnections: this.#local.receiverCount });
  }
}

function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}

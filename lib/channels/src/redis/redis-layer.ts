import { ChannelFull } from '../errors';
import { FlushPacer } from '../flush-pacer';
import { type Logger, silentLogger } from '../logger';
import { Reachability } from '../reachability';
import { LocalDelivery } from '../layers/local-delivery';
import { PublishBatch, unbatch } from './publish-batch';
import { byNode, type Commands, describeTarget, execAll, failureOf, isCluster, openCommands, type RedisTarget } from './connection';
import { openSubscriber, type Subscriber } from './subscriber';
import { RedisSupervisor, type RedisTimeouts } from './supervisor';
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
export interface RedisChannelLayerOptions extends ChannelLayerOptions, RedisTimeouts, RedisTarget {
  /**
   * Prefix of every Redis channel this layer uses (default `channels`), so several sites can
   * share one Redis: a group's channel is `<prefix>:{g:<group>}`, a process's `<prefix>:{p:<id>}`.
   */
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
 * The channel layer across processes, over Redis pub/sub, on one Redis or a Redis Cluster. Each process keeps its own channels and
 * group memberships (as the in-memory layer does) and subscribes to a Redis channel per group it
 * has members in, so a group message costs one PUBLISH however many processes and members there
 * are; each process parses it once and hands the same object to all its members. Members in the
 * sending process get it at once, without the round trip. What is published waits for the
 * process's next paced flush, with the socket writes (see `PublishBatch`): under load, one
 * PUBLISH per channel carries every message of the moment, in order.
 *
 * On a cluster, group and process channels are shard channels (`SPUBLISH`/`SSUBSCRIBE`): the hash
 * tag in their names (`{g:<group>}`) puts each group on one shard, groups spread over the shards,
 * and a message crosses only the shard its group lives on. The rare resync notice stays a plain
 * PUBLISH, which every node passes on.
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
  readonly #publisher: Commands;
  readonly #subscriber: Subscriber;
  readonly #processChannel: string;
  readonly #resyncChannel: string;
  readonly #batch: PublishBatch;
  readonly #publishWaitMs: number;
  readonly #subscribeWaitMs: number;
  readonly #reachability: Reachability;
  readonly #supervisor: RedisSupervisor;
  /** A publish failed while Redis was unreachable: the other processes must catch up. */
  #publishLost = false;
  #closed = false;

  private constructor(options: RedisChannelLayerOptions) {
    this.#batch = new PublishBatch((payloads) => this.#publishAll(payloads), options.pacer ?? new FlushPacer());
    this.#local = new LocalDelivery(options);
    this.#prefix = options.prefix ?? 'channels';
    this.#logger = options.logger ?? silentLogger;
    this.#processChannel = this.#processChannelOf(this.#local.processId);
    this.#resyncChannel = `${this.#prefix}:resync`;
    this.#publishWaitMs = options.publishWaitMs ?? 2_000;
    this.#subscribeWaitMs = options.subscribeWaitMs ?? 1_000;
    this.#reachability = new Reachability('redis', this.#logger);
    const name = `channels-${this.#local.processId}`;
    this.#publisher = openCommands(options, options, name);
    this.#supervisor = new RedisSupervisor({ publisher: this.#publisher }, options, {
      lost: (role, reason) => {
        if (!this.#closed) this.#reachability.lost(reason, { role });
      },
      ready: () => {
        this.#publisherReady();
        this.#maybeWhole();
      },
    });
    this.#subscriber = openSubscriber(
      options,
      this.#publisher,
      options,
      name,
      { home: this.#processChannel, broadcast: [this.#resyncChannel] },
      {
        message: (channel, payload) => this.#onMessage(channel, payload),
        lost: (reason) => {
          if (!this.#closed) this.#reachability.lost(reason, { role: 'subscriber' });
        },
        // Group messages published while this process was away are gone: catch up, and have
        // every other process do the same (our own publishes may have been lost too).
        whole: () => {
          this.#resyncReceivers();
          void this.#batch.add(this.#resyncChannel, '{}');
          this.#maybeWhole();
        },
      },
    );
  }

  /** Connects to Redis; rejects with one clear line when it cannot be reached in time. */
  static async connect(options: RedisChannelLayerOptions): Promise<RedisChannelLayer> {
    const layer = new RedisChannelLayer(options);
    const timeoutMs = options.connectTimeoutMs ?? 5_000;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        layer.#publisher.connect().then(() => layer.#subscriber.connect()),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`cannot reach ${describeTarget(options)} within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
    } catch (error) {
      await layer.close();
      const reason = failureOf(error, layer.#publisher);
      throw new Error(reason.startsWith('cannot reach') ? reason : `cannot reach ${describeTarget(options)}: ${reason}`);
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
    void this.#batch.add(this.#processChannelOf(LocalDelivery.processOf(channel)!), JSON.stringify({ channel, message } satisfies Remote));
  }

  async groupAdd(group: string, channel: string): Promise<void> {
    assertGroupName(group);
    assertChannelName(channel);
    this.#assertLocal(channel);
    if (this.#local.groupAdd(group, channel)) await this.#subscriber.subscribe(this.#groupChannel(group), this.#subscribeWaitMs);
  }

  async groupDiscard(group: string, channel: string): Promise<void> {
    assertGroupName(group);
    assertChannelName(channel);
    this.#assertLocal(channel);
    if (this.#local.groupDiscard(group, channel)) this.#subscriber.unsubscribe(this.#groupChannel(group));
  }

  async groupSend(group: string, message: LayerMessage, options?: GroupSendOptions): Promise<void> {
    assertGroupName(group);
    assertLayerMessage(message);
    const except = exceptedChannels(options);
    if (this.#local.groupSend(group, message, except)) this.#subscriber.unsubscribe(this.#groupChannel(group));
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
    if (!this.#subscriber.ready) throw new Error('the redis subscriber is not connected and subscribed');
    await this.#publisher.ping();
  }

  async close(): Promise<void> {
    await this.#batch.drain();
    this.#closed = true;
    this.#supervisor.close();
    this.#local.clear();
    this.#publisher.disconnect();
    this.#subscriber.close();
  }

  // ---- Redis ----

  /** The hash tag puts a group's channel on one shard of a cluster, groups spread over the shards. */
  #groupChannel(group: string): string {
    return `${this.#prefix}:{g:${group}}`;
  }

  #processChannelOf(processId: string): string {
    return `${this.#prefix}:{p:${processId}}`;
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
    const publisher = this.#publisher;
    try {
      if (publisher.status !== 'ready') await this.#publisherBack();
      const cluster = isCluster(publisher);
      // One pipeline per node: on a cluster each group's channel lives on its shard.
      await Promise.all(
        byNode(publisher, payloads, ([channel]) => channel).map(async (entries) => {
          if (entries.length === 1) {
            const [channel, payload] = entries[0]!;
            // The resync notice is for every process: plain pub/sub, which every node passes on.
            if (cluster && channel !== this.#resyncChannel) await publisher.spublish(channel, origin + payload);
            else await publisher.publish(channel, origin + payload);
            return;
          }
          const pipeline = publisher.pipeline();
          for (const [channel, payload] of entries) {
            if (cluster && channel !== this.#resyncChannel) pipeline.spublish(channel, origin + payload);
            else pipeline.publish(channel, origin + payload);
          }
          await execAll(pipeline);
        }),
      );
    } catch (error) {
      if (!this.#publishLost) this.#logger.debug('redis publish given up; the other processes will resync', { error });
      this.#publishLost = true;
      // Unanswered (a silent partition, a lossy link, a shard's primary gone): the connection is made again.
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
        const group = channel.slice(this.#prefix.length + 4, -1);
        let empty = false;
        for (const item of unbatch(payload.slice(space + 1)) as Array<LayerMessage | Excepting>) {
          empty = item.type === undefined ? this.#local.groupSend(group, item.message, item.except) : this.#local.groupSend(group, item);
        }
        if (empty) this.#subscriber.unsubscribe(channel);
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

  /** Once both connections are back and the subscriptions made again, the outage is over. */
  #maybeWhole(): void {
    if (this.#closed || !this.#subscriber.ready || !this.#supervisor.allReady) return;
    this.#reachability.back({ resyncedConnections: this.#local.receiverCount });
  }
}

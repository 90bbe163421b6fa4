import { randomBytes } from 'node:crypto';
import type { JsonObject } from '../connection';
import { type Logger, silentLogger } from '../logger';
import { ChangePacer } from '../presence/change-pacer';
import { presenceEntry, sortByKey } from '../presence/entries';
import { LocalPresence } from '../presence/local-presence';
import {
  DEFAULT_PRESENCE_CHANGE_INTERVAL_MS,
  type PresenceEntry,
  type PresenceOptions,
  type PresenceSnapshot,
  type PresenceTracker,
  type PresenceWatcher,
} from '../presence/types';
import { Reachability } from '../reachability';
import type { ChainableCommander } from 'ioredis';
import { bySlot, type Commands, describeTarget, execAll, failureOf, openCommands, queuePublish, type RedisTarget } from './connection';
import { openSubscriber, type Subscriber } from './subscriber';
import { RedisSupervisor, type RedisTimeouts } from './supervisor';

/** How a {@link RedisPresence} connects, and how long a silent process's entries last. */
export interface RedisPresenceOptions extends PresenceOptions, RedisTimeouts, RedisTarget {
  /**
   * Prefix of every Redis key and channel, as for the channel layer (default `channels`): a
   * group's keys are `<prefix>:{presence:<group>}` and `<prefix>:{presence:<group>}:alive`.
   */
  readonly prefix?: string;
  /** A process that stops renewing its entries (it died) drops out of the lists after this (default 30 s). */
  readonly expiryMs?: number;
  /** Where an outage and the return of Redis are logged, once each (default nowhere). */
  readonly logger?: Logger;
  /** The clock of the expiries (default `Date.now`). */
  readonly now?: () => number;
}

/**
 * Presence shared by every process through Redis. Each process keeps its own tracked keys (as
 * `InMemoryPresence` does) and writes them to Redis: per group, a hash of process id → its
 * entries, and a sorted set of process id → the time its entry expires. A list is the union of
 * the entries that have not expired (a key tracked in two processes shows this process's meta,
 * else the most recently renewed process's). A process renews its entries every third of the
 * expiry, and works out the lists of the groups it watches again, so the keys of a process that
 * died without a word leave the lists after the expiry; a change is also announced at once on the
 * group's own Redis channel, to which the processes watching the group subscribe. Both keys expire
 * twice the expiry after the last renewal. The two keys and the channel share a hash tag, so on a
 * Redis Cluster a group's presence lives on one shard (a MULTI there is one slot's). While Redis
 * cannot be reached, a list is this process's own keys; they are written again when it is back
 * (the outage and the return are logged once each).
 *
 * @example
 * ```ts
 * const presence = await RedisPresence.connect({ url: process.env.REDIS_URL!, logger });
 * await serveNext({ application, layer, presence, onShutdown: () => presence.close() });
 * ```
 */
export class RedisPresence implements PresenceTracker {
  readonly #local: LocalPresence;
  /** Paces the lists worked out again when other processes announce changes. */
  readonly #remoteChanges: ChangePacer;
  readonly #processId = randomBytes(6).toString('hex');
  readonly #redis: Commands;
  readonly #subscriber: Subscriber;
  readonly #prefix: string;
  readonly #expiryMs: number;
  readonly #commandTimeout: number;
  readonly #now: () => number;
  readonly #logger: Logger;
  readonly #reachability: Reachability;
  readonly #supervisor: RedisSupervisor;
  #timer: NodeJS.Timeout | null = null;
  /** Per group, what the last read found in Redis (and of the local keys), and the list it made. */
  readonly #lastRead = new Map<string, { readonly seen: string; readonly snapshot: PresenceSnapshot }>();

  private constructor(options: RedisPresenceOptions) {
    this.#local = new LocalPresence(options);
    this.#remoteChanges = new ChangePacer(options.changeIntervalMs ?? DEFAULT_PRESENCE_CHANGE_INTERVAL_MS, (group) => void this.#refresh(group));
    this.#prefix = options.prefix ?? 'channels';
    this.#expiryMs = options.expiryMs ?? 30_000;
    this.#commandTimeout = options.commandTimeoutMs ?? 2_000;
    this.#now = options.now ?? Date.now;
    this.#logger = options.logger ?? silentLogger;
    const name = `presence-${this.#processId}`;
    this.#redis = openCommands(options, options, name);
    this.#reachability = new Reachability('redis (presence)', this.#logger);
    this.#supervisor = new RedisSupervisor({ writer: this.#redis }, options, {
      lost: (role, reason) => this.#reachability.lost(reason, { role }),
      ready: () => this.#maybeBack(),
    });
    this.#subscriber = openSubscriber(options, this.#redis, options, name, {}, {
      message: (channel, payload) => {
        // `<process id> <group>`: a change another process made.
        const space = payload.indexOf(' ');
        if (payload.slice(0, space) !== this.#processId && channel === this.#changedChannel(payload.slice(space + 1))) {
          this.#remoteChanges.changed(payload.slice(space + 1));
        }
      },
      lost: (reason) => this.#reachability.lost(reason, { role: 'subscriber' }),
      whole: () => this.#maybeBack(),
    });
    this.#local.onLocalChange = (group) => void this.#localChanged(group);
  }

  /**
   * Connects to Redis and starts renewing this process's entries.
   *
   * @throws Error naming Redis when it cannot be reached at start.
   */
  static async connect(options: RedisPresenceOptions): Promise<RedisPresence> {
    const presence = new RedisPresence(options);
    try {
      await presence.#redis.connect();
      await presence.#subscriber.connect();
    } catch (error) {
      presence.#disconnect();
      throw new Error(`cannot reach ${describeTarget(options)} for presence: ${failureOf(error, presence.#redis)}`);
    }
    presence.#timer = setInterval(() => void presence.#heartbeat(), Math.max(10, Math.floor(presence.#expiryMs / 3)));
    presence.#timer.unref();
    return presence;
  }

  async track(group: string, key: string, meta: JsonObject, connection: string): Promise<void> {
    this.#local.track(group, key, meta, connection);
  }

  async untrack(group: string, key: string, connection: string): Promise<void> {
    this.#local.untrack(group, key, connection);
  }

  /** The list as it is now; watchers hear of it through the paced announcements. */
  list(group: string): Promise<PresenceSnapshot> {
    return this.#read(group);
  }

  /** Watches a group; its first watcher here subscribes to the group's announcements. */
  watch(group: string, watcher: PresenceWatcher): void {
    const first = !this.#watching(group);
    this.#local.watch(group, watcher);
    if (!first) return;
    // What was announced before the subscription was made is read once it is.
    void this.#subscriber.subscribe(this.#changedChannel(group), this.#commandTimeout).then(async () => {
      if (this.#watching(group)) await this.#refresh(group);
    });
  }

  unwatch(group: string, watcher: PresenceWatcher): void {
    this.#local.unwatch(group, watcher);
    if (!this.#watching(group)) this.#subscriber.unsubscribe(this.#changedChannel(group));
  }

  /** Removes this process's entries from every list, tells the others, and disconnects. */
  async close(): Promise<void> {
    this.#stopTimer();
    this.#supervisor.close();
    this.#remoteChanges.close();
    const groups = [...this.#local.localGroups()];
    if (groups.length > 0 && this.#redis.status === 'ready') {
      await Promise.all(
        bySlot(this.#redis, groups, (group) => this.#key(group)).map((slot) => {
          const goodbye = this.#redis.multi();
          for (const group of slot) {
            goodbye.hdel(this.#key(group), this.#processId).zrem(this.#aliveKey(group), this.#processId);
            queuePublish(this.#redis, goodbye, this.#changedChannel(group), `${this.#processId} ${group}`);
          }
          return execAll(goodbye).catch(() => {});
        }),
      );
    }
    this.#local.close();
    this.#disconnect();
  }

  /** Stops as a crash would: no goodbye, so the others notice only when the entries expire (for tests). */
  closeWithoutGoodbye(): void {
    this.#stopTimer();
    this.#supervisor.close();
    this.#remoteChanges.close();
    this.#local.close();
    this.#disconnect();
  }

  /** The hash tag keeps a group's keys and channel in one slot of a cluster. */
  #key(group: string): string {
    return `${this.#prefix}:{presence:${group}}`;
  }

  #aliveKey(group: string): string {
    return `${this.#prefix}:{presence:${group}}:alive`;
  }

  #changedChannel(group: string): string {
    return `${this.#prefix}:{presence:${group}}:changed`;
  }

  #watching(group: string): boolean {
    for (const watched of this.#local.watchedGroups()) if (watched === group) return true;
    return false;
  }

  /** Once the writer and the subscriptions are back: write this process's keys again at once and read every watched list anew. */
  #maybeBack(): void {
    if (!this.#supervisor.allReady || !this.#subscriber.ready || this.#reachability.up) return;
    const groups = [...this.#local.watchedGroups()].length;
    void this.#heartbeat();
    this.#reachability.back({ refreshedGroups: groups });
  }

  /** Writes this process's keys of a group, announces the change, and updates local watchers. */
  async #localChanged(group: string): Promise<void> {
    // While Redis is away, the list is this process's keys; they are written when it is back.
    if (this.#reachability.up) {
      try {
        const write = this.#redis.multi();
        this.#writeGroup(write, group);
        queuePublish(this.#redis, write, this.#changedChannel(group), `${this.#processId} ${group}`);
        await execAll(write);
      } catch (error) {
        this.#logger.debug('could not write presence to redis; the next renewal retries', { group, error });
      }
    }
    await this.#refresh(group);
  }

  #writeGroup(write: ChainableCommander, group: string): void {
    const json = this.#local.localJson(group);
    if (json === null) {
      write.hdel(this.#key(group), this.#processId).zrem(this.#aliveKey(group), this.#processId);
    } else {
      write.hset(this.#key(group), this.#processId, json);
      write.zadd(this.#aliveKey(group), this.#now() + this.#expiryMs, this.#processId);
      // Renewed by every live process: the keys of a group everyone left without a word go too.
      write.pexpire(this.#key(group), 2 * this.#expiryMs).pexpire(this.#aliveKey(group), 2 * this.#expiryMs);
    }
  }

  /** Works out a group's list again and tells its watchers, if it changed. */
  async #refresh(group: string): Promise<void> {
    this.#local.publish(await this.#read(group));
  }

  /**
   * A group's list: the keys of the other processes whose entries have not expired, and this
   * process's own as they are now (its entry in Redis may wait for a paced write).
   */
  async #read(group: string): Promise<PresenceSnapshot> {
    const version = this.#local.nextVersion();
    // Known to be away: no caller waits for a command that will time out.
    if (!this.#reachability.up) return { group, version, entries: this.#local.localEntries(group) };
    try {
      const localChanges = this.#local.localChanges;
      const [alive, stored] = await Promise.all([
        this.#redis.zrangebyscore(this.#aliveKey(group), this.#now(), '+inf'),
        this.#redis.hgetall(this.#key(group)),
      ]);
      // Most reads (the renewals, a join in a busy group) find what the last one found: the same
      // list, without parsing and sorting everyone again.
      let seen = `${localChanges}`;
      for (const processId of alive) if (processId !== this.#processId) seen += `\n${processId}=${stored[processId] ?? ''}`;
      const last = this.#lastRead.get(group);
      if (last?.seen === seen && localChanges === this.#local.localChanges) return last.snapshot;
      const merged = new Map<string, PresenceEntry>();
      for (const processId of alive) {
        const json = processId === this.#processId ? undefined : stored[processId];
        if (!json) continue;
        for (const [key, meta] of Object.entries(JSON.parse(json) as Record<string, JsonObject>)) merged.set(key, presenceEntry(key, meta));
      }
      for (const entry of this.#local.localEntries(group)) merged.set(entry.key, entry);
      const snapshot = { group, version, entries: sortByKey([...merged.values()]) };
      this.#lastRead.set(group, { seen, snapshot });
      return snapshot;
    } catch (error) {
      // Redis is away: the best list there is, this process's own keys.
      this.#logger.debug('presence falls back to local keys', { group, error });
      return { group, version, entries: this.#local.localEntries(group) };
    }
  }

  /** Renews this process's entries (rewriting them, in case Redis lost them) and refreshes watched groups. */
  async #heartbeat(): Promise<void> {
    const groups = [...this.#local.localGroups()];
    if (groups.length > 0 && this.#reachability.up) {
      await Promise.all(
        bySlot(this.#redis, groups, (group) => this.#key(group)).map((slot) => {
          const renew = this.#redis.multi();
          for (const group of slot) this.#writeGroup(renew, group);
          return execAll(renew).catch(() => {});
        }),
      );
    }
    const watched = new Set(this.#local.watchedGroups());
    for (const group of this.#lastRead.keys()) if (!watched.has(group)) this.#lastRead.delete(group);
    await Promise.all([...watched].map((group) => this.#refresh(group)));
  }

  #stopTimer(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  #disconnect(): void {
    this.#redis.disconnect();
    this.#subscriber.close();
  }
}

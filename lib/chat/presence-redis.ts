import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import {
  type Logger,
  Reachability,
  type SessionUser,
  silentLogger,
} from 'next-channels';
import { redisConnectionOptions, RedisSupervisor, type RedisTimeouts } from 'next-channels/redis';
import { ChangePacer } from 'next-channels';
import {
  DEFAULT_PRESENCE_CHANGE_INTERVAL_MS,
  LocalPresence,
  type Presence,
  type PresenceWatcher,
  type PresenceOptions,
  type PresenceSnapshot,
  presenceFrame,
} from './presence';

export interface RedisPresenceOptions extends PresenceOptions, RedisTimeouts {
  readonly url: string;
  /** Prefix of every Redis key and channel, as for the channel layer (default `channels`). */
  readonly prefix?: string;
  /** A process that stops renewing its entries (it died) drops out of the lists after this (default 30 s). */
  readonly expiryMs?: number;
  readonly logger?: Logger;
  readonly now?: () => number;
}

/**
 * Presence shared by every process through Redis. Each process keeps its own people (as
 * `LocalPresence` does) and writes them to Redis: per room, a hash of process id → its people,
 * and a sorted set of process id → the time its entry expires. A list is the union of the entries
 * that have not expired. A process renews its entries every third of the expiry, and works out
 * the lists of the rooms it watches again, so the people of a process that died without a word
 * leave the lists after the expiry; a change is also announced at once on a Redis channel.
 */
export class RedisPresence implements Presence {
  readonly #local: LocalPresence;
  /** Paces the lists worked out again when other processes announce changes. */
  readonly #remoteChanges: ChangePacer;
  readonly #processId = randomBytes(6).toString('hex');
  readonly #redis: Redis;
  readonly #subscriber: Redis;
  readonly #prefix: string;
  readonly #changedChannel: string;
  readonly #expiryMs: number;
  readonly #now: () => number;
  readonly #logger: Logger;
  readonly #reachability: Reachability;
  readonly #supervisor: RedisSupervisor;
  #timer: NodeJS.Timeout | null = null;
  /** Per room, what the last read found in Redis (and of the local people), and the list it made. */
  readonly #lastRead = new Map<string, { readonly seen: string; readonly snapshot: PresenceSnapshot }>();

  private constructor(options: RedisPresenceOptions) {
    this.#local = new LocalPresence(options);
    this.#remoteChanges = new ChangePacer(options.changeIntervalMs ?? DEFAULT_PRESENCE_CHANGE_INTERVAL_MS, (room) => void this.#refresh(room));
    this.#prefix = options.prefix ?? 'channels';
    this.#changedChannel = `${this.#prefix}:presence-changed`;
    this.#expiryMs = options.expiryMs ?? 30_000;
    this.#now = options.now ?? Date.now;
    this.#logger = options.logger ?? silentLogger;
    const common = redisConnectionOptions(options, `presence-${this.#processId}`);
    this.#redis = new Redis(options.url, common);
    this.#subscriber = new Redis(options.url, common);
    this.#reachability = new Reachability('redis (presence)', this.#logger);
    this.#supervisor = new RedisSupervisor({ writer: this.#redis, subscriber: this.#subscriber }, options, {
      lost: (role, reason) => this.#reachability.lost(reason, { role }),
      ready: (role) => {
        if (role === 'subscriber') this.#subscriber.subscribe(this.#changedChannel).catch(() => {});
        if (!this.#supervisor.allReady || this.#reachability.up) return;
        // Back: write this process's people again at once and read every watched list anew.
        const rooms = [...this.#local.watchedRooms()].length;
        void this.#heartbeat();
        this.#reachability.back({ refreshedRooms: rooms });
      },
    });
    this.#subscriber.on('message', (_channel: string, payload: string) => {
      const space = payload.indexOf(' ');
      if (payload.slice(0, space) !== this.#processId) this.#remoteChanges.changed(payload.slice(space + 1));
    });
    this.#local.onLocalChange = (room) => void this.#localChanged(room);
  }

  static async connect(options: RedisPresenceOptions): Promise<RedisPresence> {
    const presence = new RedisPresence(options);
    try {
      await Promise.all([presence.#redis.connect(), presence.#subscriber.connect()]);
    } catch (error) {
      presence.#disconnect();
      throw new Error(`cannot reach Redis for presence: ${error instanceof Error ? error.message : String(error)}`);
    }
    presence.#timer = setInterval(() => void presence.#heartbeat(), Math.max(10, Math.floor(presence.#expiryMs / 3)));
    presence.#timer.unref();
    return presence;
  }

  join(room: string, user: SessionUser, connection: string): Promise<void> {
    return this.#local.join(room, user, connection);
  }

  leave(room: string, userId: string, connection: string): Promise<void> {
    return this.#local.leave(room, userId, connection);
  }

  /** The list as it is now; watchers hear of it through the paced announcements. */
  list(room: string): Promise<PresenceSnapshot> {
    return this.#read(room);
  }

  watch(room: string, watcher: PresenceWatcher): void {
    this.#local.watch(room, watcher);
  }

  unwatch(room: string, watcher: PresenceWatcher): void {
    this.#local.unwatch(room, watcher);
  }

  mayAnnounceTyping(room: string, userId: string, now: number, intervalMs: number): boolean {
    // Paced per process: a person with tabs on two processes may be announced twice as often.
    return this.#local.mayAnnounceTyping(room, userId, now, intervalMs);
  }

  /** Removes this process's people from every list, tells the others, and disconnects. */
  async close(): Promise<void> {
    this.#stopTimer();
    this.#supervisor.close();
    this.#remoteChanges.close();
    const rooms = [...this.#local.localRooms()];
    if (rooms.length > 0 && this.#redis.status === 'ready') {
      const goodbye = this.#redis.multi();
      for (const room of rooms) {
        goodbye.hdel(this.#key(room), this.#processId).zrem(this.#aliveKey(room), this.#processId);
        goodbye.publish(this.#changedChannel, `${this.#processId} ${room}`);
      }
      await goodbye.exec().catch(() => {});
    }
    await this.#local.close();
    this.#disconnect();
  }

  /** Stops as a crash would: no goodbye, so the others notice only when the entries expire. */
  closeWithoutGoodbye(): void {
    this.#stopTimer();
    this.#supervisor.close();
    this.#remoteChanges.close();
    this.#disconnect();
  }

  #key(room: string): string {
    return `${this.#prefix}:presence:${room}`;
  }

  #aliveKey(room: string): string {
    return `${this.#prefix}:presence:${room}:alive`;
  }

  /** Writes this process's people of a room, announces the change, and updates local watchers. */
  async #localChanged(room: string): Promise<void> {
    // While Redis is away, the list is this process's people; they are written when it is back.
    if (this.#reachability.up) {
      try {
        const write = this.#redis.multi();
        this.#writeRoom(write, room);
        write.publish(this.#changedChannel, `${this.#processId} ${room}`);
        await write.exec();
      } catch (error) {
        this.#logger.debug('could not write presence to redis; the next renewal retries', { room, error });
      }
    }
    await this.#refresh(room);
  }

  #writeRoom(write: ReturnType<Redis['multi']>, room: string): void {
    const people = this.#local.localPeople(room);
    if (people.size === 0) {
      write.hdel(this.#key(room), this.#processId).zrem(this.#aliveKey(room), this.#processId);
    } else {
      write.hset(this.#key(room), this.#processId, JSON.stringify(Object.fromEntries(people)));
      write.zadd(this.#aliveKey(room), this.#now() + this.#expiryMs, this.#processId);
    }
  }

  /** Works out a room's list again and tells its watchers, if it changed. */
  async #refresh(room: string): Promise<void> {
    this.#local.publish(room, await this.#read(room));
  }

  /**
   * A room's list: the people of the other processes whose entries have not expired, and this
   * process's own as they are now (its entry in Redis may wait for a paced write).
   */
  async #read(room: string): Promise<PresenceSnapshot> {
    const version = this.#local.nextVersion();
    // Known to be away: no joiner waits for a command that will time out.
    if (!this.#reachability.up) return { version, frame: presenceFrame(this.#local.localPeople(room)) };
    try {
      const localChanges = this.#local.localChanges;
      const [alive, entries] = await Promise.all([
        this.#redis.zrangebyscore(this.#aliveKey(room), this.#now(), '+inf'),
        this.#redis.hgetall(this.#key(room)),
      ]);
      // Most reads (the renewals, a join in a busy room) find what the last one found: the same
      // list, without parsing and sorting everyone again.
      let seen = `${localChanges}`;
      for (const processId of alive) if (processId !== this.#processId) seen += `\n${processId}=${entries[processId] ?? ''}`;
      const last = this.#lastRead.get(room);
      if (last?.seen === seen && localChanges === this.#local.localChanges) return last.snapshot;
      const people = new Map<string, string>();
      for (const processId of alive) {
        const entry = processId === this.#processId ? undefined : entries[processId];
        if (entry) for (const [userId, name] of Object.entries(JSON.parse(entry) as Record<string, string>)) people.set(userId, name);
      }
      for (const [userId, name] of this.#local.localPeople(room)) people.set(userId, name);
      const snapshot = { version, frame: presenceFrame(people) };
      this.#lastRead.set(room, { seen, snapshot });
      return snapshot;
    } catch (error) {
      // Redis is away: the best list there is, this process's own people.
      this.#logger.debug('presence falls back to local people', { room, error });
      return { version, frame: presenceFrame(this.#local.localPeople(room)) };
    }
  }

  /** Renews this process's entries (rewriting them, in case Redis lost them) and refreshes watched rooms. */
  async #heartbeat(): Promise<void> {
    const rooms = [...this.#local.localRooms()];
    if (rooms.length > 0 && this.#reachability.up) {
      const renew = this.#redis.multi();
      for (const room of rooms) this.#writeRoom(renew, room);
      await renew.exec().catch(() => {});
    }
    const watched = new Set(this.#local.watchedRooms());
    for (const room of this.#lastRead.keys()) if (!watched.has(room)) this.#lastRead.delete(room);
    await Promise.all([...watched].map((room) => this.#refresh(room)));
  }

  #stopTimer(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  #disconnect(): void {
    this.#redis.disconnect();
    this.#subscriber.disconnect();
  }
}

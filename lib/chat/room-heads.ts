import type { Logger } from 'next-channels';
import { compareMessageIds } from './protocol';
import type { MessageStore } from './store/types';

/** Hears that its room holds messages up to `head`: one connection, which checks what it has sent. */
export interface HeadWatcher {
  headReached(head: string): void;
}

export interface RoomHeadsOptions {
  /**
   * How long a room's new head may run ahead of what its connections were sent before they are
   * told (default 1 s): the live message normally arrives first, and only a message that never
   * will (its sender died before sending it on, the channel layer lost it) costs a read.
   */
  readonly graceMs?: number;
  /**
   * How often the heads of the watched rooms are read from the store (default 5 s), for the
   * commits whose notice was lost (the store's listening connection broke): a quiet room
   * converges within this.
   */
  readonly pollMs?: number;
  readonly logger?: Logger;
}

interface Room {
  readonly watchers: Set<HeadWatcher>;
  /** The newest id known. */
  head: string | null;
  /** The head the running timer will check, known since it was set: at least `graceMs` old when checked. */
  checking: string | null;
  timer: NodeJS.Timeout | null;
}

/** Rooms asked about in one read of the heads. */
const ROOMS_PER_READ = 1_000;

/**
 * The newest message id of every room that has connections in this process, as the store tells
 * it (each commit, by any process, and a read every `pollMs`), and the connections' catch-up: a
 * connection still short of its room's head `graceMs` after it became known fills the gap from
 * the store. With a store of one process (SQLite), nothing can be committed unseen, and this does
 * nothing. One per process, made by the app.
 */
export class RoomHeads {
  readonly #store: MessageStore;
  readonly #graceMs: number;
  readonly #pollMs: number;
  readonly #logger: Logger | null;
  readonly #rooms = new Map<string, Room>();
  #stopListening: (() => void) | null = null;
  #poll: NodeJS.Timeout | null = null;
  #reading = false;

  constructor(store: MessageStore, options: RoomHeadsOptions = {}) {
    this.#store = store;
    this.#graceMs = options.graceMs ?? 1_000;
    this.#pollMs = options.pollMs ?? 5_000;
    this.#logger = options.logger ?? null;
  }

  /** Starts telling `watcher` of its room's heads (a connection, once it has sent its history). */
  watch(room: string, watcher: HeadWatcher): void {
    if (this.#store.watchHeads === undefined) return;
    let entry = this.#rooms.get(room);
    if (entry === undefined) {
      entry = { watchers: new Set(), head: null, checking: null, timer: null };
      this.#rooms.set(room, entry);
    }
    entry.watchers.add(watcher);
    this.#start();
  }

  unwatch(room: string, watcher: HeadWatcher): void {
    const entry = this.#rooms.get(room);
    if (entry === undefined || !entry.watchers.delete(watcher) || entry.watchers.size > 0) return;
    if (entry.timer !== null) clearTimeout(entry.timer);
    this.#rooms.delete(room);
  }

  /** Reads the heads of every watched room now (and tells the connections behind, after the grace). */
  async readHeads(): Promise<void> {
    if (this.#reading) return;
    this.#reading = true;
    try {
      const rooms = [...this.#rooms.keys()];
      for (let start = 0; start < rooms.length; start += ROOMS_PER_READ) {
        const heads = await this.#store.heads(rooms.slice(start, start + ROOMS_PER_READ));
        for (const [room, head] of heads) this.#advance(room, head);
      }
    } catch (error) {
      // The store is away: its own outage is logged; the next read tries again.
      this.#logger?.debug('could not read the rooms\' heads', { error });
    } finally {
      this.#reading = false;
    }
  }

  close(): void {
    this.#stopListening?.();
    this.#stopListening = null;
    if (this.#poll !== null) clearInterval(this.#poll);
    this.#poll = null;
    for (const entry of this.#rooms.values()) if (entry.timer !== null) clearTimeout(entry.timer);
    this.#rooms.clear();
  }

  #start(): void {
    if (this.#stopListening !== null) return;
    this.#stopListening =
      this.#store.watchHeads?.({
        head: (room, id) => this.#advance(room, id),
        missed: () => void this.readHeads(),
      }) ?? null;
    this.#poll = setInterval(() => void this.readHeads(), this.#pollMs);
    this.#poll.unref();
  }

  #advance(room: string, id: string): void {
    const entry = this.#rooms.get(room);
    if (entry === undefined) return;
    if (entry.head !== null && compareMessageIds(id, entry.head) <= 0) return;
    entry.head = id;
    if (entry.timer === null) this.#arm(entry);
  }

  /**
   * Checks, `graceMs` from now, the head known now: in a busy room the newest head is always a
   * moment old, on its way, and only one that stayed undelivered a whole grace counts.
   */
  #arm(entry: Room): void {
    entry.checking = entry.head;
    entry.timer = setTimeout(() => {
      entry.timer = null;
      const head = entry.checking;
      if (head === null) return;
      for (const watcher of entry.watchers) watcher.headReached(head);
      if (entry.head !== head) this.#arm(entry);
    }, this.#graceMs);
    entry.timer.unref();
  }
}

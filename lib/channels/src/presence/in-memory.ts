import type { JsonObject } from '../connection';
import { LocalPresence } from './local-presence';
import type { PresenceOptions, PresenceSnapshot, PresenceTracker, PresenceWatcher } from './types';

/**
 * The presence of one process, in its memory: the default of a server with a channel layer.
 * With several processes, use `RedisPresence` from `next-channels/redis`.
 *
 * @example
 * ```ts
 * const presence = new InMemoryPresence({ changeIntervalMs: 0 });
 * await presence.track('room.lobby', 'u_ana', { name: 'Ana' }, 'connection-1');
 * (await presence.list('room.lobby')).entries; // [{ key: 'u_ana', meta: { name: 'Ana' } }]
 * ```
 */
export class InMemoryPresence implements PresenceTracker {
  readonly #local: LocalPresence;

  /** @param options how often watchers may hear a group's new list. */
  constructor(options: PresenceOptions = {}) {
    this.#local = new LocalPresence(options);
  }

  async track(group: string, key: string, meta: JsonObject, connection: string): Promise<void> {
    this.#local.track(group, key, meta, connection);
  }

  async untrack(group: string, key: string, connection: string): Promise<void> {
    this.#local.untrack(group, key, connection);
  }

  async list(group: string): Promise<PresenceSnapshot> {
    return this.#local.list(group);
  }

  watch(group: string, watcher: PresenceWatcher): void {
    this.#local.watch(group, watcher);
  }

  unwatch(group: string, watcher: PresenceWatcher): void {
    this.#local.unwatch(group, watcher);
  }

  async close(): Promise<void> {
    this.#local.close();
  }
}

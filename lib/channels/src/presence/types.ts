import type { JsonObject } from '../connection';
import { InvalidPresence } from '../errors';
import { assertGroupName } from '../layers/types';

/** One member of a group's presence: a key (a user id, say) and what the app shows of it. */
export type PresenceEntry = {
  /** Who is present; one entry per key, however many connections track it. */
  readonly key: string;
  /** What the app shows of the key (a display name, a status); the newest tracked wins. */
  readonly meta: JsonObject;
};

/**
 * A group's presence at one moment. `version` grows with every list a process works out, so a
 * watcher that hears lists out of order keeps only the newest.
 */
export interface PresenceSnapshot {
  /** The group the list is of. */
  readonly group: string;
  /** Grows with each list this process works out (for any group). */
  readonly version: number;
  /** Everyone present, sorted by key; one array shared by every watcher, not to be changed. */
  readonly entries: readonly PresenceEntry[];
}

/**
 * A new list of a group as its watchers hear it, with what changed since the list they heard
 * before (`base`): keys that came or whose meta changed (`joins`), and keys that went (`leaves`).
 * One object for every watcher of the group in the process.
 */
export interface PresenceUpdate extends PresenceSnapshot {
  /** The version of the list the diff is from; -1 when the watchers had heard none. */
  readonly base: number;
  /** Keys that arrived, or whose meta changed, with their meta now. */
  readonly joins: readonly PresenceEntry[];
  /** Keys that are gone. */
  readonly leaves: readonly string[];
}

/** Hears a group's new lists. An object with a method rather than a closure: one per connection adds up. */
export interface PresenceWatcher {
  /** The group's list changed (paced: see `PresenceOptions.changeIntervalMs`). */
  presenceChanged(update: PresenceUpdate): void;
}

/**
 * Who is present in each group, by key rather than by connection, as in Phoenix Presence: two
 * connections that track one key make one entry (with the meta tracked last), and the key leaves
 * when its last connection untracks. Watchers of a group hear its new lists, paced.
 * `InMemoryPresence` serves one process; `RedisPresence` (`next-channels/redis`) shares the
 * lists between processes. A consumer uses it through `track` and `untrack`; route handlers
 * read it through `presence()`.
 */
export interface PresenceTracker {
  /**
   * Tracks `key` in `group` for `connection` (any string unique in the process, such as a
   * consumer's channel name), with `meta` replacing the key's meta.
   *
   * @throws InvalidName for a bad group name; InvalidPresence for a key or meta out of bounds.
   */
  track(group: string, key: string, meta: JsonObject, connection: string): Promise<void>;
  /** Stops tracking `key` for `connection`; the key leaves when no connection tracks it. */
  untrack(group: string, key: string, connection: string): Promise<void>;
  /** The group's list now, sorted by key. */
  list(group: string): Promise<PresenceSnapshot>;
  /** Tells `watcher` whenever the group's list changes, until `unwatch`. */
  watch(group: string, watcher: PresenceWatcher): void;
  /** Stops telling `watcher` of the group. */
  unwatch(group: string, watcher: PresenceWatcher): void;
  /** Stops the timers (and, shared, removes this process's entries); the tracker is not used after. */
  close(): Promise<void>;
}

/** Options every presence tracker takes. */
export interface PresenceOptions {
  /**
   * A group's watchers hear a change at once, then at most one new list per this many
   * milliseconds while changes keep coming (default 500): a group of n people filling up costs
   * a few lists to each, not n. Someone tracking always gets the list as it is.
   */
  readonly changeIntervalMs?: number;
}

/** The default of `PresenceOptions.changeIntervalMs`. */
export const DEFAULT_PRESENCE_CHANGE_INTERVAL_MS = 500;
/** The longest presence key, in UTF-16 code units (a user id fits many times over). */
export const MAX_PRESENCE_KEY_LENGTH = 256;
/**
 * The largest meta, as JSON in UTF-8 bytes: every list carries every entry's meta to every
 * watcher, so meta is for a name and a status, not a profile.
 */
export const MAX_PRESENCE_META_BYTES = 2_048;

/**
 * Checks a group, key and meta before they are tracked, and answers the meta's JSON.
 *
 * @throws InvalidName for a bad group name; InvalidPresence for a key or meta out of bounds.
 */
export function checkPresence(group: string, key: string, meta: JsonObject): string {
  assertGroupName(group);
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_PRESENCE_KEY_LENGTH) {
    throw new InvalidPresence('key', `a string of 1 to ${MAX_PRESENCE_KEY_LENGTH} characters, got ${describeKey(key)}`);
  }
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) {
    throw new InvalidPresence('meta', `a JSON object, got ${meta === null ? 'null' : Array.isArray(meta) ? 'an array' : typeof meta}`);
  }
  const json = JSON.stringify(meta);
  const bytes = Buffer.byteLength(json);
  if (bytes > MAX_PRESENCE_META_BYTES) {
    throw new InvalidPresence('meta', `at most ${MAX_PRESENCE_META_BYTES} bytes of JSON, got ${bytes}`);
  }
  return json;
}

function describeKey(key: unknown): string {
  return typeof key === 'string' ? `${key.length} characters` : typeof key;
}

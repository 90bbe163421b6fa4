import type { JsonObject } from '../connection';
import { diffEntries } from './entries';
import type { PresenceEntry, PresenceSnapshot, PresenceTracker, PresenceUpdate, PresenceWatcher } from './types';

/**
 * What a consumer hears of a group it tracks itself in (`WebsocketConsumer.presenceChanged`):
 * first the whole list (`kind: 'list'`, every entry a join), then what changed since the last
 * change it heard (`kind: 'diff'`). One object is shared by every consumer of the process that
 * hears the same change, so a frame made from it can be made (and serialised) once.
 */
export interface PresenceChange {
  /** `'list'`: the first the consumer hears of the group; `'diff'`: a change after it. */
  readonly kind: 'list' | 'diff';
  /** The version of the list (see `PresenceSnapshot.version`). */
  readonly version: number;
  /** Everyone present now, sorted by key. */
  readonly entries: readonly PresenceEntry[];
  /** Keys that arrived, or whose meta changed, since the last change heard (all of `entries` for a list). */
  readonly joins: readonly PresenceEntry[];
  /** Keys gone since the last change heard (none for a list). */
  readonly leaves: readonly string[];
}

const NOTHING: readonly string[] = Object.freeze([]);
/** Changes made from a shared update or list, so consumers that hear the same one share the object. */
const sharedDiffs = new WeakMap<PresenceUpdate, PresenceChange>();
const sharedLists = new WeakMap<readonly PresenceEntry[], PresenceChange>();
const frames = new WeakMap<PresenceChange, JsonObject>();

/**
 * The framework frame of a change, made once per change object: on a list
 * `{"$":"presence","group","entries":[{"key","meta"}...]}`, after it
 * `{"$":"presence_diff","group","joins":[{"key","meta"}...],"leaves":["key"...]}`.
 */
export function presenceFrame(group: string, change: PresenceChange): JsonObject {
  let frame = frames.get(change);
  if (frame === undefined) {
    frame =
      change.kind === 'list'
        ? { $: 'presence', group, entries: change.entries }
        : { $: 'presence_diff', group, joins: change.joins, leaves: change.leaves };
    frames.set(change, frame);
  }
  return frame;
}

interface TrackedGroup {
  readonly group: string;
  key: string;
  /** The version and list last handed on; `null` until the first. */
  version: number;
  entries: readonly PresenceEntry[] | null;
}

/**
 * A consumer's side of presence: the groups it tracks itself in, under which key, and what it
 * last heard of each, so that it hands on the whole list first, then diffs, and never a list
 * older than one it handed on.
 *
 * @internal
 */
export class ConsumerPresence implements PresenceWatcher {
  readonly #tracker: PresenceTracker;
  readonly #connection: string;
  readonly #deliver: (group: string, change: PresenceChange) => void;
  /**
   * An array rather than a Map: a connection tracks itself in one group or two, and there are
   * thousands. Replaced rather than pushed to, so it stays the exact length (a push leaves room
   * for 16 more).
   */
  #groups: readonly TrackedGroup[] = [];

  constructor(tracker: PresenceTracker, connection: string, deliver: (group: string, change: PresenceChange) => void) {
    this.#tracker = tracker;
    this.#connection = connection;
    this.#deliver = deliver;
  }

  async track(group: string, key: string, meta: JsonObject): Promise<void> {
    const tracker = this.#tracker;
    let tracked = this.#find(group);
    if (tracked && tracked.key !== key) {
      const previous = tracked.key;
      tracked.key = key;
      await tracker.untrack(group, previous, this.#connection);
    }
    if (!tracked) {
      tracked = { group, key, version: -1, entries: null };
      this.#groups = this.#groups.concat(tracked);
      tracker.watch(group, this);
    }
    try {
      await tracker.track(group, key, meta, this.#connection);
    } catch (error) {
      if (tracked.entries === null && this.#find(group) === tracked) {
        this.#forget(tracked);
        tracker.unwatch(group, this);
      }
      throw error;
    }
    this.#heard(group, await tracker.list(group), null);
  }

  async untrack(group: string): Promise<void> {
    const tracked = this.#find(group);
    if (!tracked) return;
    this.#forget(tracked);
    this.#tracker.unwatch(group, this);
    await this.#tracker.untrack(group, tracked.key, this.#connection);
  }

  async untrackAll(): Promise<void> {
    await Promise.all(this.#groups.map((tracked) => this.untrack(tracked.group)));
  }

  presenceChanged(update: PresenceUpdate): void {
    this.#heard(update.group, update, update);
  }

  #heard(group: string, snapshot: PresenceSnapshot, update: PresenceUpdate | null): void {
    const tracked = this.#find(group);
    if (!tracked || snapshot.version <= tracked.version) return;
    const before = tracked.entries;
    const baseVersion = tracked.version;
    tracked.version = snapshot.version;
    tracked.entries = snapshot.entries;
    if (before === null) {
      this.#deliver(group, listChange(snapshot));
    } else if (update !== null && update.base === baseVersion) {
      this.#deliver(group, diffChange(update));
    } else {
      const { joins, leaves } = diffEntries(before, snapshot.entries);
      if (joins.length > 0 || leaves.length > 0) {
        this.#deliver(group, { kind: 'diff', version: snapshot.version, entries: snapshot.entries, joins, leaves });
      }
    }
  }

  #find(group: string): TrackedGroup | undefined {
    return this.#groups.find((tracked) => tracked.group === group);
  }

  #forget(tracked: TrackedGroup): void {
    this.#groups = this.#groups.filter((other) => other !== tracked);
  }
}

function listChange(snapshot: PresenceSnapshot): PresenceChange {
  let change = sharedLists.get(snapshot.entries);
  if (change === undefined) {
    change = { kind: 'list', version: snapshot.version, entries: snapshot.entries, joins: snapshot.entries, leaves: NOTHING };
    sharedLists.set(snapshot.entries, change);
  }
  return change;
}

function diffChange(update: PresenceUpdate): PresenceChange {
  let change = sharedDiffs.get(update);
  if (change === undefined) {
    change = { kind: 'diff', version: update.version, entries: update.entries, joins: update.joins, leaves: update.leaves };
    sharedDiffs.set(update, change);
  }
  return change;
}

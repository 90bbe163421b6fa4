import type { JsonObject } from '../connection';
import { ChangePacer } from './change-pacer';
import { diffEntries, presenceEntry, sortByKey } from './entries';
import {
  checkPresence,
  DEFAULT_PRESENCE_CHANGE_INTERVAL_MS,
  type PresenceEntry,
  type PresenceOptions,
  type PresenceSnapshot,
  type PresenceUpdate,
  type PresenceWatcher,
} from './types';

interface Member {
  /** As lists show it; one object for every list the key is in, replaced when the meta changes. */
  entry: PresenceEntry;
  json: string;
  /** Usually one, kept as it is; an array only for a key tracked by several connections. */
  connections: string | string[];
}

/**
 * The keys tracked by this process's connections, per group, and the watchers of each group: on
 * its own, the presence of one process (`InMemoryPresence`); `RedisPresence` builds the shared
 * lists of several processes on top of it, through the methods past `close`.
 *
 * @internal
 */
export class LocalPresence {
  readonly #groups = new Map<string, Map<string, Member>>();
  readonly #watchers = new Map<string, Set<PresenceWatcher>>();
  /** The last list each watched group's watchers heard. */
  readonly #latest = new Map<string, PresenceUpdate>();
  readonly #pacer: ChangePacer;
  #version = 0;
  #localChanges = 0;
  /** Hears the (paced) changes of a group's local keys, instead of the watchers (RedisPresence publishes them). */
  onLocalChange: ((group: string) => void) | null = null;

  constructor(options: PresenceOptions = {}) {
    this.#pacer = new ChangePacer(options.changeIntervalMs ?? DEFAULT_PRESENCE_CHANGE_INTERVAL_MS, (group) => this.#announce(group));
  }

  track(group: string, key: string, meta: JsonObject, connection: string): void {
    const json = checkPresence(group, key, meta);
    let members = this.#groups.get(group);
    if (!members) {
      members = new Map();
      this.#groups.set(group, members);
    }
    const member = members.get(key);
    if (!member) {
      members.set(key, { entry: presenceEntry(key, meta, json), json, connections: connection });
    } else {
      const connections = member.connections;
      if (typeof connections === 'string') {
        if (connections !== connection) member.connections = [connections, connection];
      } else if (!connections.includes(connection)) {
        connections.push(connection);
      }
      // The newest tracking carries the newest meta.
      if (member.json === json) return;
      member.entry = presenceEntry(key, meta, json);
      member.json = json;
    }
    this.#changed(group);
  }

  untrack(group: string, key: string, connection: string): void {
    const members = this.#groups.get(group);
    const member = members?.get(key);
    if (!members || !member) return;
    const connections = member.connections;
    if (typeof connections === 'string') {
      if (connections !== connection) return;
    } else {
      const index = connections.indexOf(connection);
      if (index === -1) return;
      connections.splice(index, 1);
      if (connections.length > 0) return;
    }
    members.delete(key);
    if (members.size === 0) this.#groups.delete(group);
    this.#changed(group);
  }

  /** The group's list: the one its watchers heard last when no change waits, else a new one. */
  list(group: string): PresenceSnapshot {
    const latest = this.#latest.get(group);
    return latest && !this.#pacer.pending(group) ? latest : { group, version: this.nextVersion(), entries: this.localEntries(group) };
  }

  watch(group: string, watcher: PresenceWatcher): void {
    let watchers = this.#watchers.get(group);
    if (!watchers) {
      watchers = new Set();
      this.#watchers.set(group, watchers);
    }
    watchers.add(watcher);
  }

  unwatch(group: string, watcher: PresenceWatcher): void {
    const watchers = this.#watchers.get(group);
    if (!watchers?.delete(watcher) || watchers.size > 0) return;
    this.#watchers.delete(group);
    this.#latest.delete(group);
  }

  close(): void {
    this.#pacer.close();
    this.#watchers.clear();
    this.#latest.clear();
  }

  /** The entries of a group tracked in this process, sorted by key. */
  localEntries(group: string): PresenceEntry[] {
    const entries: PresenceEntry[] = [];
    for (const member of this.#groups.get(group)?.values() ?? []) entries.push(member.entry);
    return sortByKey(entries);
  }

  /** The keys of a group tracked in this process, as one JSON object of key → meta. */
  localJson(group: string): string | null {
    const members = this.#groups.get(group);
    if (!members) return null;
    let json = '';
    for (const [key, member] of members) json += `${json ? ',' : '{'}${JSON.stringify(key)}:${member.json}`;
    return `${json}}`;
  }

  /** Grows with every change of the keys of this process, in any group. */
  get localChanges(): number {
    return this.#localChanges;
  }

  /** Groups with keys tracked in this process. */
  localGroups(): IterableIterator<string> {
    return this.#groups.keys();
  }

  /** Groups someone in this process watches. */
  watchedGroups(): IterableIterator<string> {
    return this.#watchers.keys();
  }

  /** Tells a group's watchers its list, if it is newer than, and differs from, the last they heard. */
  publish(snapshot: PresenceSnapshot): void {
    const group = snapshot.group;
    const watchers = this.#watchers.get(group);
    if (!watchers) return;
    const latest = this.#latest.get(group);
    if (latest && latest.version >= snapshot.version) return;
    const { joins, leaves } = diffEntries(latest?.entries ?? [], snapshot.entries);
    if (latest && joins.length === 0 && leaves.length === 0) return;
    const update: PresenceUpdate = { group, version: snapshot.version, entries: snapshot.entries, base: latest?.version ?? -1, joins, leaves };
    this.#latest.set(group, update);
    for (const watcher of watchers) watcher.presenceChanged(update);
  }

  /** A new version number, for a list about to be worked out. */
  nextVersion(): number {
    return ++this.#version;
  }

  #changed(group: string): void {
    this.#localChanges++;
    this.#pacer.changed(group);
  }

  #announce(group: string): void {
    if (this.onLocalChange) this.onLocalChange(group);
    else this.publish({ group, version: this.nextVersion(), entries: this.localEntries(group) });
  }
}

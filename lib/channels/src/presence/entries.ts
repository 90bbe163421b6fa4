import type { JsonObject } from '../connection';
import type { PresenceEntry } from './types';

/** Each entry's meta as JSON, worked out once: diffs compare meta by it. */
const metaJson = new WeakMap<PresenceEntry, string>();

/** A frozen entry; `json` is the meta's JSON when the caller has it already. */
export function presenceEntry(key: string, meta: JsonObject, json?: string): PresenceEntry {
  const entry = Object.freeze({ key, meta });
  if (json !== undefined) metaJson.set(entry, json);
  return entry;
}

/** The entry's meta as JSON. */
export function entryMetaJson(entry: PresenceEntry): string {
  let json = metaJson.get(entry);
  if (json === undefined) {
    json = JSON.stringify(entry.meta);
    metaJson.set(entry, json);
  }
  return json;
}

/** Sorts entries by key, in place, by UTF-16 code units: the same order in every process and locale. */
export function sortByKey(entries: PresenceEntry[]): PresenceEntry[] {
  return entries.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** What changed from `before` to `after` (both sorted by key): keys new or with new meta, and keys gone. */
export function diffEntries(
  before: readonly PresenceEntry[],
  after: readonly PresenceEntry[],
): { readonly joins: PresenceEntry[]; readonly leaves: string[] } {
  const joins: PresenceEntry[] = [];
  const leaves: string[] = [];
  let i = 0;
  let j = 0;
  while (i < before.length || j < after.length) {
    const old = before[i];
    const now = after[j];
    if (now === undefined || (old !== undefined && old.key < now.key)) {
      leaves.push(old!.key);
      i++;
    } else if (old === undefined || now.key < old.key) {
      joins.push(now);
      j++;
    } else {
      if (old !== now && entryMetaJson(old) !== entryMetaJson(now)) joins.push(now);
      i++;
      j++;
    }
  }
  return { joins, leaves };
}

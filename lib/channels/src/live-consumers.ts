/**
 * Which consumers are open, by class, so that a development reload can move them onto the new
 * version of their class (see `next-channels/dev`). Off unless `trackLiveConsumers` was called:
 * production keeps no such list.
 */
/** Any class, abstract or not. */
export type AnyClass = abstract new (...args: never[]) => object;

const LIVE_CONSUMERS = Symbol.for('next-channels.live-consumers');

type LiveRegistry = Map<string, Set<object>>;

function liveRegistry(): LiveRegistry | undefined {
  return (globalThis as unknown as Record<symbol, LiveRegistry | undefined>)[LIVE_CONSUMERS];
}

/** Starts keeping track of live consumers, so a reload can move them to new classes. */
export function trackLiveConsumers(): void {
  const slots = globalThis as unknown as Record<symbol, LiveRegistry | undefined>;
  slots[LIVE_CONSUMERS] ??= new Map();
}

/** The key that finds a class again in the next generation: `static hotKey`, or its name. */
export function hotKey(consumerClass: AnyClass): string {
  return (consumerClass as unknown as { hotKey?: string }).hotKey ?? consumerClass.name;
}

/** @internal Called by WebsocketConsumer; does nothing unless tracking is on. */
export function registerLiveConsumer(consumer: object, live: boolean): void {
  const registry = liveRegistry();
  if (!registry) return;
  const key = hotKey(consumer.constructor as AnyClass);
  let instances = registry.get(key);
  if (!instances) {
    instances = new Set();
    registry.set(key, instances);
  }
  if (live) instances.add(consumer);
  else instances.delete(consumer);
}

/**
 * Moves the live instances of each class's previous version onto the new one: they keep their
 * fields (their connection, groups and state) and run the new code from their next event on.
 * Classes that do this must keep their state in TypeScript-private fields, not `#private` ones,
 * which are tied to the class that declared them. Returns how many instances moved.
 *
 * @param classes the newly loaded classes; a class is matched to the old one by `hotKey`.
 */
export function upgradeLiveConsumers(classes: Iterable<AnyClass>): number {
  const registry = liveRegistry();
  if (!registry) return 0;
  let moved = 0;
  for (const consumerClass of classes) {
    for (const instance of registry.get(hotKey(consumerClass)) ?? []) {
      if (Object.getPrototypeOf(instance) === consumerClass.prototype) continue;
      Object.setPrototypeOf(instance, consumerClass.prototype);
      moved++;
    }
  }
  return moved;
}


/**
 * The classes among `modules`' exports (a reload's `ReloadReport.modules`) that have open
 * instances of an earlier version: what `upgradeLiveConsumers` should move. Consumer classes need
 * no list kept by hand, but must be exported from their module.
 */
export function liveConsumerClassesIn(modules: readonly unknown[]): AnyClass[] {
  const registry = liveRegistry();
  if (!registry) return [];
  const found: AnyClass[] = [];
  for (const exported of modules) {
    if (exported === null || (typeof exported !== 'object' && typeof exported !== 'function')) continue;
    const values = typeof exported === 'function' ? [exported] : Object.values(exported as Record<string, unknown>);
    for (const value of values) {
      if (typeof value !== 'function' || typeof value.prototype !== 'object') continue;
      const candidate = value as AnyClass;
      if (registry.get(hotKey(candidate))?.size) found.push(candidate);
    }
  }
  return found;
}

/**
 * Hot reload of server code in development, for CommonJS modules loaded through `require` (as
 * tsx and the compiled build load them). The modules an entry file pulls in beyond what was
 * already loaded form a *generation*: on a change to one of them, the generation is evicted from
 * the require cache and loaded again, and live consumers move to the new classes. A change to a
 * module loaded before the entry (the transport, the channel layer, the stores: what holds
 * sockets and state) cannot be swapped: the process must restart.
 */
import { type FSWatcher, readdirSync, statSync, watch } from 'node:fs';
import path from 'node:path';
import type { Logger } from './logger';

type AnyClass = abstract new (...args: never[]) => object;

const LIVE_CONSUMERS = Symbol.for('nextjs-channels.live-consumers');

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
 */
export function upgradeLiveConsumers(classes: readonly AnyClass[]): number {
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

export interface HotReloaderOptions<T> {
  /** The module whose generation is reloaded (an absolute path, or one `require.resolve` finds). */
  readonly entry: string;
  /** Folders and files to watch. */
  readonly watch: readonly string[];
  /**
   * A new generation is loaded: `exports` is the entry's; `files` what changed; `ms` the time
   * from the first change event of the burst (so the settle wait included) to now.
   */
  readonly loaded: (exports: T, report: { readonly ms: number; readonly files: readonly string[] }) => void;
  /** A file outside the generation changed (it holds state): the process has to restart. */
  readonly restartNeeded: (file: string) => void;
  readonly logger: Logger;
  /** How long to wait for an editor's burst of writes to settle (default 30 ms). */
  readonly settleMs?: number;
}

export class HotReloader<T> {
  readonly #options: HotReloaderOptions<T>;
  readonly #entry: string;
  #generation = new Set<string>();
  #watchers: FSWatcher[] = [];
  #changed = new Set<string>();
  /** When the first change of the burst being settled was seen (`performance.now()`). */
  #firstChangeAt: number | null = null;
  #timer: NodeJS.Timeout | null = null;

  constructor(options: HotReloaderOptions<T>) {
    this.#options = options;
    this.#entry = require.resolve(options.entry);
  }

  /** Loads the first generation and starts watching; returns the entry's exports. */
  start(): T {
    const exports = this.#load();
    // One watcher per folder, not Node's recursive mode, which loses a file once an editor has
    // saved it by renaming a new copy over it.
    for (const target of this.#options.watch) {
      const resolved = path.resolve(target);
      if (statSync(resolved).isDirectory()) for (const folder of folders(resolved)) this.#watchFolder(folder, null);
      else this.#watchFolder(path.dirname(resolved), path.basename(resolved));
    }
    return exports;
  }

  #watchFolder(folder: string, only: string | null): void {
    this.#watchers.push(
      watch(folder, (_event, filename) => {
        if (!filename || (only !== null && filename !== only)) return;
        const file = path.join(folder, filename.toString());
        if (!/\.(ts|tsx|js)$/.test(file) || /\.test\.tsx?$/.test(file)) return;
        this.#changed.add(file);
        this.#firstChangeAt ??= performance.now();
        if (this.#timer) clearTimeout(this.#timer);
        this.#timer = setTimeout(() => this.#settle(), this.#options.settleMs ?? 30);
      }),
    );
  }

  close(): void {
    for (const watcher of this.#watchers) watcher.close();
    this.#watchers = [];
    if (this.#timer) clearTimeout(this.#timer);
  }

  #settle(): void {
    const files = [...this.#changed];
    const changedAt = this.#firstChangeAt ?? performance.now();
    this.#changed.clear();
    this.#firstChangeAt = null;
    const loadedBefore = files.find((file) => require.cache[file] !== undefined && !this.#generation.has(file));
    if (loadedBefore) {
      this.#options.restartNeeded(loadedBefore);
      return;
    }
    if (!files.some((file) => this.#generation.has(file))) return;
    for (const file of this.#generation) delete require.cache[file];
    let exports: T;
    try {
      exports = this.#load();
    } catch (error) {
      // A file that does not compile yet: keep serving the last generation.
      this.#options.logger.error('server code reload failed; the previous code keeps serving', { files, error });
      return;
    }
    this.#options.loaded(exports, { ms: Math.round(performance.now() - changedAt), files });
  }

  #load(): T {
    const before = new Set(Object.keys(require.cache));
    const loadedNow = (): string[] =>
      Object.keys(require.cache).filter((file) => !before.has(file) && !file.includes(`${path.sep}node_modules${path.sep}`));
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- a reload must go through the require cache
      const exports = require(this.#entry) as T;
      this.#generation = new Set(loadedNow());
      return exports;
    } catch (error) {
      // Leave nothing half loaded: the next change loads the whole generation again.
      for (const file of loadedNow()) delete require.cache[file];
      throw error;
    }
  }
}

/** A folder and every folder below it, but node_modules. */
function folders(root: string): string[] {
  const found = [root];
  for (const entry of readdirSync(root, { withFileTypes: true })) {
    if (entry.isDirectory() && entry.name !== 'node_modules') found.push(...folders(path.join(root, entry.name)));
  }
  return found;
}

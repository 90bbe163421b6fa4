/**
 * Hot reload of server code in development, for CommonJS modules loaded through `require` (as
 * tsx and the compiled build load them). The modules an entry file pulls in beyond what was
 * already loaded form a *generation*: on a change to one of them, the generation is evicted from
 * the require cache and loaded again, and live consumers move to the new classes. A change to a
 * module loaded before the entry (the transport, the channel layer, the stores: what holds
 * sockets and state) cannot be swapped: the process must restart.
 */
import { existsSync, type FSWatcher, readdirSync, statSync, watch } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../logger';

/** What a reload did. */
export interface ReloadReport {
  /** The files whose change caused it. */
  readonly files: readonly string[];
  /** From the first change event of the burst (so the settle wait included) to the new code loaded. */
  readonly ms: number;
  /** The exports of every module of the new generation (where its consumer classes are found). */
  readonly modules: readonly unknown[];
}

/** How a {@link HotReloader} is set up. */
export interface HotReloaderOptions<T> {
  /** The module whose generation is reloaded (an absolute path, or one `require.resolve` finds). */
  readonly entry: string;
  /** Folders and files to watch (those that do not exist are skipped). */
  readonly watch: readonly string[];
  /** A new generation is loaded: `exports` is the entry's. */
  readonly loaded: (exports: T, report: ReloadReport) => void;
  /** A file outside the generation changed (it holds state): the process has to restart. */
  readonly restartNeeded: (file: string) => void;
  /** Where a reload that fails (its code does not load) is logged; the previous code keeps serving. */
  readonly logger: Logger;
  /** How long to wait for an editor's burst of writes to settle (default 30 ms). */
  readonly settleMs?: number;
}

/**
 * Reloads a generation of modules when one of its files changes; watches folders, including ones
 * created after start. Used by the Next adapter in development; usable on its own.
 */
export class HotReloader<T> {
  readonly #options: HotReloaderOptions<T>;
  readonly #entry: string;
  #generation = new Set<string>();
  #watchers: FSWatcher[] = [];
  readonly #watched = new Set<string>();
  #changed = new Set<string>();
  /** When the first change of the burst being settled was seen (`performance.now()`). */
  #firstChangeAt: number | null = null;
  #timer: NodeJS.Timeout | null = null;

  /** @param options what to load and watch, and what to do on a reload. */
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
      if (!existsSync(resolved)) continue;
      if (statSync(resolved).isDirectory()) for (const folder of folders(resolved)) this.#watchFolder(folder, null);
      else this.#watchFolder(path.dirname(resolved), path.basename(resolved));
    }
    return exports;
  }

  #watchFolder(folder: string, only: string | null): void {
    const key = only === null ? folder : path.join(folder, only);
    if (this.#watched.has(key)) return;
    this.#watched.add(key);
    this.#watchers.push(
      watch(folder, (event, filename) => {
        if (!filename || (only !== null && filename !== only)) return;
        const file = path.join(folder, filename.toString());
        if (only === null && event === 'rename' && !skipped(path.basename(file)) && isFolder(file)) {
          // A folder created after start: its files are watched from now on.
          for (const added of folders(file)) this.#watchFolder(added, null);
          return;
        }
        if (!/\.(ts|tsx|js)$/.test(file) || /\.test\.tsx?$/.test(file)) return;
        this.#changed.add(file);
        this.#firstChangeAt ??= performance.now();
        if (this.#timer) clearTimeout(this.#timer);
        this.#timer = setTimeout(() => this.#settle(), this.#options.settleMs ?? 30);
      }),
    );
  }

  /** Stops watching. */
  close(): void {
    for (const watcher of this.#watchers) watcher.close();
    this.#watchers = [];
    this.#watched.clear();
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
    const modules = [...this.#generation].map((file) => require.cache[file]?.exports as unknown);
    this.#options.loaded(exports, { ms: Math.round(performance.now() - changedAt), files, modules });
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

function isFolder(file: string): boolean {
  try {
    return statSync(file).isDirectory();
  } catch {
    return false;
  }
}

/** A folder and every folder below it, but node_modules and hidden ones (`.next`, `.git`). */
function folders(root: string): string[] {
  const found = [root];
  for (const entry of readdirSync(root, { withFileTypes: true })) {
    if (entry.isDirectory() && !skipped(entry.name)) found.push(...folders(path.join(root, entry.name)));
  }
  return found;
}

function skipped(folderName: string): boolean {
  return folderName === 'node_modules' || folderName.startsWith('.');
}

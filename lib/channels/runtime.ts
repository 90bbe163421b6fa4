/**
 * A per-process slot for live services (the channel layer, the store), set by `server.ts` and
 * read by Next route handlers and server actions. Next bundles route code apart from the server,
 * so a module-level variable would exist twice; `globalThis` under a registered symbol is shared
 * by every bundle in the process.
 */
export interface ProcessSlot<T> {
  install(value: T): void;
  /** @throws Error when nothing is installed (the app was not started through server.ts). */
  get(): T;
  /** What is installed, if anything. */
  peek(): T | undefined;
  uninstall(): void;
}

export function processSlot<T>(name: string): ProcessSlot<T> {
  const key = Symbol.for(`nextjs-channels.${name}`);
  const slots = globalThis as unknown as Record<symbol, T | undefined>;
  return {
    install(value) {
      slots[key] = value;
    },
    get() {
      const value = slots[key];
      if (value === undefined) {
        throw new Error(`${name} is not running in this process: start the app with server.ts (npm run dev / npm start)`);
      }
      return value;
    },
    peek() {
      return slots[key];
    },
    uninstall() {
      delete slots[key];
    },
  };
}

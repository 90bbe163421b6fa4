/**
 * A per-process slot: one value per process, whichever bundle asks for it. Next bundles route
 * handlers and server actions apart from the server file, so a module-level variable would exist
 * once per bundle (silently two copies of "the same" state); `globalThis` under a registered
 * symbol is shared by every bundle of the process.
 */
export interface ProcessSlot<T> {
  /** Puts `value` in the slot, replacing what was there. */
  install(value: T): void;
  /** @throws Error when nothing is installed (the app was not started through the server). */
  get(): T;
  /** What is installed, if anything. */
  peek(): T | undefined;
  /** Empties the slot. */
  uninstall(): void;
}

/**
 * The slot called `name` in this process. Two calls with one name, from any bundle, share it.
 *
 * @example
 * ```ts
 * const clock = processSlot<{ startedAt: number }>('my-app.clock');
 * clock.install({ startedAt: Date.now() });
 * clock.get().startedAt;
 * ```
 */
export function processSlot<T>(name: string): ProcessSlot<T> {
  const key = Symbol.for(`next-channels.${name}`);
  const slots = globalThis as unknown as Record<symbol, T | undefined>;
  return {
    install(value) {
      slots[key] = value;
    },
    get() {
      const value = slots[key];
      if (value === undefined) {
        throw new Error(`${name} is not running in this process: start the app through its server file (serveNext)`);
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

/**
 * State that consumers and route handlers share, made once per process by `create` on first use
 * and returned to every caller after, from any bundle. Use it instead of a module-level variable
 * for anything both sides read or write: Next gives route code a module copy of its own.
 *
 * @example
 * ```ts
 * // lib/counter.ts, imported by a consumer and by a route handler
 * export const counter = () => processState('my-app.counter', () => ({ value: 0 }));
 * counter().value++;
 * ```
 */
export function processState<T>(name: string, create: () => T): T {
  const slot = processSlot<T>(`state.${name}`);
  const existing = slot.peek();
  if (existing !== undefined) return existing;
  const made = create();
  slot.install(made);
  return made;
}

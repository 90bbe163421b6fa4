/**
 * Paces work that follows changes, per key (a group): the first change runs the work at once,
 * later ones within `intervalMs` are folded into one run at the end of the interval. No change
 * is ever left unannounced; a burst of changes costs one run per interval instead of one each.
 * An interval of 0 runs the work on every change.
 */
export class ChangePacer {
  readonly #intervalMs: number;
  readonly #work: (key: string) => void;
  /** Keys inside an interval, and whether a change came in during it. */
  readonly #slots = new Map<string, { timer: NodeJS.Timeout; changed: boolean }>();

  /**
   * @param intervalMs the shortest time between two runs for one key; 0 runs on every change.
   * @param work what a change leads to, called with the key that changed.
   */
  constructor(intervalMs: number, work: (key: string) => void) {
    if (!Number.isFinite(intervalMs) || intervalMs < 0) throw new RangeError(`intervalMs must be 0 or more, got ${intervalMs}`);
    this.#intervalMs = intervalMs;
    this.#work = work;
  }

  /** `key` changed: runs the work now, or once at the end of the key's interval. */
  changed(key: string): void {
    if (this.#intervalMs === 0) {
      this.#work(key);
      return;
    }
    const slot = this.#slots.get(key);
    if (slot) {
      slot.changed = true;
      return;
    }
    this.#open(key);
    this.#work(key);
  }

  /** Whether a change of `key` waits for the end of its interval. */
  pending(key: string): boolean {
    return this.#slots.get(key)?.changed ?? false;
  }

  /** Drops every pending run. */
  close(): void {
    for (const slot of this.#slots.values()) clearTimeout(slot.timer);
    this.#slots.clear();
  }

  #open(key: string): void {
    const slot = {
      changed: false,
      timer: setTimeout(() => {
        this.#slots.delete(key);
        if (!slot.changed) return;
        this.#open(key);
        this.#work(key);
      }, this.#intervalMs),
    };
    this.#slots.set(key, slot);
  }
}

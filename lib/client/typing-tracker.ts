import type { PresenceUser } from '../chat/protocol';
import type { Timers } from 'next-channels/client';

/** Who else is typing: each notice shows its author for `shownMs`, or until they post. */
export class TypingTracker {
  readonly #timers: Timers;
  readonly #shownMs: number;
  readonly #expired: () => void;
  readonly #deadlines = new Map<string, unknown>();
  #people: readonly PresenceUser[] = [];

  /** `expired` hears when someone stops showing because their time ran out. */
  constructor(timers: Timers, shownMs: number, expired: () => void) {
    this.#timers = timers;
    this.#shownMs = shownMs;
    this.#expired = expired;
  }

  get people(): readonly PresenceUser[] {
    return this.#people;
  }

  /** Shows `person` as typing, for another `shownMs`. */
  start(person: PresenceUser): void {
    const previous = this.#deadlines.get(person.user_id);
    if (previous !== undefined) this.#timers.clearTimeout(previous);
    this.#deadlines.set(
      person.user_id,
      this.#timers.setTimeout(() => {
        if (this.stop(person.user_id)) this.#expired();
      }, this.#shownMs),
    );
    this.#people = [...this.#people.filter((entry) => entry.user_id !== person.user_id), person];
  }

  /** Stops showing someone; false when they were not shown. */
  stop(userId: string): boolean {
    const deadline = this.#deadlines.get(userId);
    if (deadline === undefined) return false;
    this.#timers.clearTimeout(deadline);
    this.#deadlines.delete(userId);
    this.#people = this.#people.filter((entry) => entry.user_id !== userId);
    return true;
  }

  clear(): void {
    for (const deadline of this.#deadlines.values()) this.#timers.clearTimeout(deadline);
    this.#deadlines.clear();
    this.#people = [];
  }
}

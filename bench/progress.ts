/**
 * A client process's wait for a condition over its sockets (all back, all caught up): each
 * event that may make it true calls `changed()`, and a slow poll catches what no event says
 * (a close that leads to a reconnect later). One condition is waited for at a time.
 */
export class Progress {
  #check: (() => void) | null = null;

  /** Something the waited-for condition reads has changed: look again now. */
  changed(): void {
    this.#check?.();
  }

  /** Resolves once `condition` holds, or after `deadlineMs` (the caller's report then says what is missing). */
  until(condition: () => boolean, deadlineMs: number, pollMs = 20): Promise<void> {
    if (condition()) return Promise.resolve();
    return new Promise((resolve) => {
      const finish = (): void => {
        this.#check = null;
        clearInterval(poll);
        clearTimeout(deadline);
        resolve();
      };
      this.#check = (): void => {
        if (condition()) finish();
      };
      const poll = setInterval(() => this.#check?.(), pollMs);
      const deadline = setTimeout(finish, deadlineMs);
    });
  }
}

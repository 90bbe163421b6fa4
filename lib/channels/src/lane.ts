type Hook = void | Promise<void>;

/**
 * Runs items one at a time in arrival order: a handler that returns a promise holds the next item
 * back until it settles; a synchronous one lets the next run at once, with no promise made. A
 * handler that throws or rejects is reported to `failed`, and the lane goes on. An idle lane
 * holds no arrays (a server keeps two per connection, for thousands of connections). Subclasses
 * say how items are handled.
 */
export abstract class Lane<T> {
  #items: T[] | null = null;
  #head = 0;
  #busy = false;
  #idle: Array<() => void> | null = null;

  protected abstract handle(item: T): Hook;
  /** A `handle` that threw or rejected; the lane goes on with the next item. */
  protected abstract failed(error: unknown): void;

  /** Items waiting, not counting the one being handled. */
  get backlog(): number {
    return this.#items === null ? 0 : this.#items.length - this.#head;
  }

  push(item: T): void {
    if (this.#busy) (this.#items ??= []).push(item);
    else this.#run(item);
  }

  /** Holds every item back until `release` (while a consumer connects). */
  hold(): void {
    this.#busy = true;
  }

  release(): void {
    this.#next();
  }

  /** Resolves once every item pushed so far has been handled. */
  whenDrained(): Promise<void> {
    if (!this.#busy && this.backlog === 0) return Promise.resolve();
    return new Promise((resolve) => (this.#idle ??= []).push(resolve));
  }

  #run(item: T): void {
    this.#busy = true;
    let result: Hook;
    try {
      result = this.handle(item);
    } catch (error) {
      this.failed(error);
      this.#next();
      return;
    }
    if (result instanceof Promise) {
      result.then(
        () => this.#next(),
        (error: unknown) => {
          this.failed(error);
          this.#next();
        },
      );
    } else {
      this.#next();
    }
  }

  #next(): void {
    this.#busy = false;
    // A synchronous item runs this again from inside #run: re-read the queue on every turn.
    while (this.#items !== null && this.#head < this.#items.length) {
      const item = this.#items[this.#head++]!;
      this.#run(item);
      if (this.#busy) return;
    }
    this.#items = null;
    this.#head = 0;
    const idle = this.#idle;
    if (idle === null) return;
    this.#idle = null;
    for (const resolve of idle) resolve();
  }
}

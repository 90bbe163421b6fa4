type Hook = void | Promise<void>;

/**
 * Runs items one at a time in arrival order: a handler that returns a promise holds the next item
 * back until it settles; a synchronous one lets the next run at once, with no promise made. A
 * handler that throws or rejects is reported to `failed`, and the lane goes on.
 */
export class Lane<T> {
  readonly #handle: (item: T) => Hook;
  readonly #failed: (error: unknown) => void;
  #items: T[] = [];
  #head = 0;
  #busy = false;
  #idle: Array<() => void> = [];

  constructor(handle: (item: T) => Hook, failed: (error: unknown) => void) {
    this.#handle = handle;
    this.#failed = failed;
  }

  /** Items waiting, not counting the one being handled. */
  get backlog(): number {
    return this.#items.length - this.#head;
  }

  push(item: T): void {
    if (this.#busy) this.#items.push(item);
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
  whenIdle(): Promise<void> {
    if (!this.#busy && this.backlog === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  #run(item: T): void {
    this.#busy = true;
    let result: Hook;
    try {
      result = this.#handle(item);
    } catch (error) {
      this.#failed(error);
      this.#next();
      return;
    }
    if (result instanceof Promise) {
      result.then(
        () => this.#next(),
        (error: unknown) => {
          this.#failed(error);
          this.#next();
        },
      );
    } else {
      this.#next();
    }
  }

  #next(): void {
    this.#busy = false;
    while (this.#head < this.#items.length) {
      const item = this.#items[this.#head++]!;
      this.#run(item);
      if (this.#busy) return;
    }
    this.#items.length = 0;
    this.#head = 0;
    const idle = this.#idle;
    this.#idle = [];
    for (const resolve of idle) resolve();
  }
}

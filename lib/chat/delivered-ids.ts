// A broadcast hands every member the same id string, one member after the other: it is parsed
// once, and every member keeps the same value (no number made per delivery).
let lastId = '';
let lastValue = 0n;
let lastPrevious = -1n;

function parse(id: string): bigint {
  if (id !== lastId) {
    lastValue = BigInt(id);
    lastPrevious = lastValue - 1n;
    lastId = id;
  }
  return lastValue;
}

/**
 * The ids of a room's messages already sent on one connection. Ids in a room are 1, 2, 3, ...
 * without gaps (every store keeps them so), so this is a number, "everything up to here", plus
 * the few ids sent above it out of order (live messages from several processes can overtake one
 * another). `contiguous` is where a catch-up from the store starts.
 */
export class DeliveredIds {
  #contiguous: bigint;
  /** Made when an id first arrives out of order. */
  #above: Set<bigint> | null = null;

  /** Starts as if every id up to `upTo` had been sent. */
  constructor(upTo: string) {
    this.#contiguous = parse(upTo);
  }

  /** Everything up to this id has been sent. */
  get contiguous(): string {
    return this.#contiguous.toString();
  }

  has(id: string): boolean {
    const value = parse(id);
    return value <= this.#contiguous || (this.#above?.has(value) ?? false);
  }

  /** Records an id as sent; false when it was already. */
  add(id: string): boolean {
    const value = parse(id);
    if (value <= this.#contiguous || this.#above?.has(value)) return false;
    if (lastPrevious !== this.#contiguous) {
      (this.#above ??= new Set()).add(value);
      return true;
    }
    this.#contiguous = value;
    if (this.#above === null) return true;
    while (this.#above.delete(this.#contiguous + 1n)) this.#contiguous++;
    if (this.#above.size === 0) this.#above = null;
    return true;
  }
}

interface PendingRead {
  readonly rows: number;
  readonly start: () => void;
}

export interface ReadPacerOptions {
  /** Rows of reads started per turn of the event loop at most (default 100: one full history page). */
  readonly rowsPerTurn?: number;
}

/**
 * Starts store reads a bounded slice at a time: at most `rowsPerTurn` rows per turn of the event
 * loop, the rest waiting for the next turns, in the order asked. SQLite reads run synchronously,
 * so without this a burst of history requests from many connections would read page after page
 * in one turn while every other socket waits; with it, I/O (a bystander's ping) is handled between
 * slices. Asynchronous stores (PostgreSQL) only have their starts paced. One per process, made by
 * the app and shared by every reader.
 */
export class ReadPacer {
  readonly #rowsPerTurn: number;
  #queue: PendingRead[] = [];
  #head = 0;
  #scheduled = false;
  /** Rows started in the current turn (reset by each scheduled slice). */
  #rowsThisTurn = 0;
  #turnOpen = false;

  constructor(options: ReadPacerOptions = {}) {
    this.#rowsPerTurn = options.rowsPerTurn ?? 100;
  }

  /** Reads waiting for a turn. */
  get waiting(): number {
    return this.#queue.length - this.#head;
  }

  /** Runs `work` (a read of up to `rows` rows) in its slice; resolves or rejects as it does. */
  read<T>(rows: number, work: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const start = (): void => {
        try {
          work().then(resolve, reject);
        } catch (error) {
          reject(error);
        }
      };
      // The first read of a quiet moment starts at once; later ones share this turn's slice.
      if (this.waiting === 0 && this.#fits(rows)) {
        this.#spend(rows);
        start();
        return;
      }
      this.#queue.push({ rows, start });
      this.#schedule();
    });
  }

  #fits(rows: number): boolean {
    return !this.#turnOpen || this.#rowsThisTurn === 0 || this.#rowsThisTurn + rows <= this.#rowsPerTurn;
  }

  #spend(rows: number): void {
    if (!this.#turnOpen) {
      this.#turnOpen = true;
      this.#rowsThisTurn = 0;
      // The turn's slice ends when this turn does.
      setImmediate(this.#closeTurn);
    }
    this.#rowsThisTurn += rows;
  }

  readonly #closeTurn = (): void => {
    this.#turnOpen = false;
    this.#rowsThisTurn = 0;
  };

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(this.#slice);
  }

  readonly #slice = (): void => {
    this.#scheduled = false;
    this.#turnOpen = false;
    this.#rowsThisTurn = 0;
    while (this.waiting > 0) {
      const next = this.#queue[this.#head]!;
      if (!this.#fits(next.rows)) break;
      this.#head++;
      this.#spend(next.rows);
      next.start();
    }
    if (this.waiting > 0) {
      this.#schedule();
    } else {
      this.#queue = [];
      this.#head = 0;
    }
  };
}

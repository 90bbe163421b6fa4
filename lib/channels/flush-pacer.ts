import { performance } from 'node:perf_hooks';

/** Something that gathers outgoing writes and hands them to the network when told to. */
export interface Flushable {
  /**
   * Writes what is queued; answers how many messages went out in that write (0 when nothing did),
   * from which the pacing tells how much writing its holding saves.
   */
  flush(): number;
}

/**
 * How writes are paced. `free`: every flush goes out at the end of its turn. `paced`: flushing
 * would take most of the process's time, so the writes of the next moments wait and go out
 * together (one write per socket for all of them), flushing taking `PACED_SHARE` of the time. The
 * pacing goes by `demand`: the share of the time flushing would take if no write were held.
 *
 * Measured on the fan-out bench (500 clients in one room, one sender; the naive server's capacity
 * is 195 to 244 messages/s here, and the targets compare latency at half of it and CPU at it):
 * unheld, the app costs about what the naive server does per delivery (one write per socket
 * dominates both), so writes must go unheld at the half rate and be held at the capacity rate.
 * Flushing takes 43 to 49% of the time at 98 messages/s, more while this virtual machine runs
 * slow (it does, by 30 to 70%, for minutes), and would take nearly all of it at 195 (where the
 * naive server's CPU is at 87 to 99%). A single share was too near one or the other: p99 latency
 * at 98 messages/s 17.0 ms held to a share of 0.25, 6.0 at 0.4, 6.7 at 0.45 (the naive server's
 * 7.0 to 7.4), but 21 to 22 ms at 0.45 in slow spells (its 10 to 15); CPU per delivery at 195
 * messages/s 3.8, 5.0, 5.3 and 6.0 µs at 0.25, 0.4, 0.45 and 0.5 (its 8.7 to 9.0). Holding every
 * flush for three times the last one's length instead costs 3.9 µs at 195 but holds writes at
 * every rate: p99 18.6 ms at 98. With the two thresholds, nothing is held at 98 messages/s
 * (p99 0.83 to 1.20 times the naive server's, round by round) but in the slowest spells, where the
 * naive server itself takes some 80% of its core at that rate; CPU per delivery at the naive
 * server's capacity is 0.54 to 0.60 times its own (seven full runs).
 */
export type Pacing = 'free' | 'paced';
/** Writes are held once the demand is over this... */
const PACE_ABOVE = 0.65;
/** ...until it is under this. */
const FREE_BELOW = 0.55;
/** While paced, flushing takes this share of the time on average. */
const PACED_SHARE = 0.45;
/**
 * How far back the demand looks (the time constant of its moving average): long enough that one
 * slow flush does not start the pacing, short enough that a burst is paced within some 50 ms.
 */
const DEMAND_WINDOW_MS = 50;
/** Unspent flushing time saved up while paced, so that a lull does not leave the next burst held. */
const MAX_CREDIT_MS = 20;
/** However far over its share flushing has gone, writes never wait more than this. */
const MAX_HOLD_MS = 10;

/**
 * The pacing of one process's writes (`flushSoon` is the process's one). Separate instances, with
 * a clock of their own, are for tests.
 */
export class FlushPacer {
  readonly #now: () => number;
  /** What waits for the next flush: each is flushed once, in the order it asked. */
  readonly #due: Flushable[] = [];
  #flushScheduled = false;
  #pacing: Pacing = 'free';
  /** The share of the time flushing would take unheld, as a moving average, as of `#demandAt`. */
  #demand = 0;
  #demandAt: number;
  /** While paced, the flushing time that may be spent before writes are held: earned with time, spent by flushes. */
  #creditMs = 0;
  #creditAt: number;

  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
    this.#demandAt = this.#creditAt = now();
  }

  /** `paced` while writes are being held to save writing (see `Pacing`). */
  get pacing(): Pacing {
    return this.#pacing;
  }

  /**
   * Flushes `target` with everything else the process writes, once the current turn of the event
   * loop is over and the pacing allows. Every outgoing write of the process goes this way (client
   * sockets, the channel layer's publishes, the store's batches), so one pacing gathers them all.
   * Call it once per batch: when the first write of a new batch is queued.
   */
  flushSoon(target: Flushable): void {
    this.#due.push(target);
    if (!this.#flushScheduled) this.#scheduleFlush();
  }

  #scheduleFlush(): void {
    this.#flushScheduled = true;
    let wait = 0;
    if (this.#pacing === 'paced') {
      this.#earnCredit(this.#now());
      wait = -this.#creditMs / PACED_SHARE;
    }
    if (wait < 1) setImmediate(this.#flushDue);
    else setTimeout(this.#flushDue, wait);
  }

  readonly #flushDue = (): void => {
    this.#flushScheduled = false;
    const due = this.#due;
    const start = this.#now();
    let messages = 0;
    let writes = 0;
    // Flushing queues nothing here, but a writer flushed early and queued again may appear
    // twice: the second flush finds it empty.
    for (let index = 0; index < due.length; index++) {
      const sent = due[index]!.flush();
      if (sent > 0) {
        messages += sent;
        writes++;
      }
    }
    due.length = 0;
    const end = this.#now();
    const flushMs = end - start;
    if (this.#pacing === 'free') {
      // Free, messages share a write only when they came in one turn, as they would again.
      this.#noteDemand(end, flushMs);
      if (this.#demand <= PACE_ABOVE) return;
      this.#pacing = 'paced';
      this.#creditMs = 0;
      this.#creditAt = end;
    } else {
      // Held, each message would have gone in a write of its own, about as long as the one it shared.
      this.#noteDemand(end, writes > 0 ? (flushMs * messages) / writes : flushMs);
      if (this.#demand < FREE_BELOW) {
        this.#pacing = 'free';
        return;
      }
    }
    // The flush earned credit for its own length too. A debt beyond one longest hold is
    // forgiven, so however long a flush was, the next waits at most MAX_HOLD_MS.
    this.#earnCredit(end);
    this.#creditMs = Math.max(this.#creditMs - flushMs, -MAX_HOLD_MS * PACED_SHARE);
  };

  #earnCredit(now: number): void {
    this.#creditMs = Math.min(MAX_CREDIT_MS, this.#creditMs + (now - this.#creditAt) * PACED_SHARE);
    this.#creditAt = now;
  }

  /**
   * Counts a flush that ended at `now` into the demand: `unheldMs`, what it would have taken had
   * nothing been held, as a share of the time since the last flush ended.
   */
  #noteDemand(now: number, unheldMs: number): void {
    const elapsed = now - this.#demandAt;
    if (elapsed <= 0) return;
    const weight = 1 - Math.exp(-elapsed / DEMAND_WINDOW_MS);
    this.#demand += (unheldMs / elapsed - this.#demand) * weight;
    this.#demandAt = now;
  }
}

const processPacer = new FlushPacer();

/** Flushes `target` with everything else the process writes: see `FlushPacer.flushSoon`. */
export function flushSoon(target: Flushable): void {
  processPacer.flushSoon(target);
}

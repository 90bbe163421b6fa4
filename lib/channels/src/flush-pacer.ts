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
 * Why these thresholds: docs/flush-pacer.md (measurements on the fan-out bench).
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
 * The pacing of one process's writes. The app makes one and hands it to everything that writes
 * to the network (the transport's `SocketServer`, the Redis layer, a database store that batches)
 * so that one pacing gathers all the writes of the process; the Next adapter makes it for you.
 * Separate instances, with a clock of their own, are for tests.
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

  readonly #holdFor: (flush: () => void, ms: number) => void;

  /**
   * @param now the clock, in milliseconds (tests pass their own).
   * @param holdFor how a held flush waits its `ms` (default `setTimeout`; tests pass their own, so
   *   that a held flush goes when they say rather than when a busy machine lets a timer fire).
   */
  constructor(now: () => number = () => performance.now(), holdFor: (flush: () => void, ms: number) => void = (flush, ms) => void setTimeout(flush, ms)) {
    this.#now = now;
    this.#holdFor = holdFor;
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
    else this.#holdFor(this.#flushDue, wait);
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

import { performance } from 'node:perf_hooks';

/** Something that gathers outgoing writes and hands them to the network when told to. */
export interface Flushable {
  flush(): void;
}

/**
 * The share of the process's time that flushing may take, on average: while writing takes less,
 * writes go out at the end of the turn; when it would take more (big or busy rooms), the writes of
 * the next moments wait and go out together, one write per socket for all of them.
 *
 * Measured on the fan-out bench (500 clients in one room, one sender; the naive server's capacity
 * is 195 to 244 messages/s here, and the targets compare latency at half of it and CPU at it):
 * unheld, the app costs about what the naive server does per delivery (one write per socket
 * dominates both), so the share must let the half rate through unheld and still make the
 * capacity rate cheaper. p99 latency at 98 messages/s: 17.0 ms at a share of 0.25, 6.0 at 0.4,
 * 6.7 at 0.45 (the naive server's 7.0 to 7.4); at 122: 18.0 at 0.45, 7.4 at 0.5 (its 6.7).
 * CPU per delivery at 195 messages/s: 3.8, 5.0, 5.3 and 6.0 µs at 0.25, 0.4, 0.45 and 0.5 (its
 * 8.7 to 9.0). Holding every flush for three times the last one's length instead costs 3.9 µs
 * at 195 but holds writes at every rate: p99 18.6 ms at 98.
 */
const WRITE_SHARE = 0.45;
/** Unspent flushing time saved up while quiet, so that a burst after a quiet spell is not held. */
const MAX_CREDIT_MS = 20;
/** However far over its share flushing has gone, writes never wait more than this. */
const MAX_HOLD_MS = 10;

/** What waits for the next flush: each is flushed once, in the order it asked. */
const due: Flushable[] = [];
let flushScheduled = false;
/** Flushing time the process may spend before writes are held: earned with time, spent by flushes. */
let creditMs = MAX_CREDIT_MS;
let creditAt = performance.now();

function earnCredit(now: number): void {
  creditMs = Math.min(MAX_CREDIT_MS, creditMs + (now - creditAt) * WRITE_SHARE);
  creditAt = now;
}

/**
 * Flushes `target` with everything else the process writes, once the current turn of the event
 * loop is over and the pacing allows. Every outgoing write of the process goes this way (client
 * sockets, the channel layer's publishes, the store's batches), so one pacing gathers them all.
 * Call it once per batch: when the first write of a new batch is queued.
 */
export function flushSoon(target: Flushable): void {
  due.push(target);
  if (!flushScheduled) scheduleFlush();
}

function scheduleFlush(): void {
  flushScheduled = true;
  earnCredit(performance.now());
  const wait = -creditMs / WRITE_SHARE;
  if (wait < 1) setImmediate(flushDue);
  else setTimeout(flushDue, wait);
}

function flushDue(): void {
  flushScheduled = false;
  const start = performance.now();
  // Flushing queues nothing here, but a writer flushed early and queued again may appear twice:
  // the second flush finds it empty.
  for (let index = 0; index < due.length; index++) due[index]!.flush();
  due.length = 0;
  const end = performance.now();
  earnCredit(end);
  // The flush earned credit for its own length too. A debt beyond one longest hold is forgiven,
  // so however long a flush was, the next waits at most MAX_HOLD_MS.
  creditMs = Math.max(creditMs - (end - start), -MAX_HOLD_MS * WRITE_SHARE);
}

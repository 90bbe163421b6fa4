import { Worker } from 'node:worker_threads';
import { sqliteNativeBinding } from './sqlite-driver';

/**
 * Copies a SQLite database's write-ahead log back into the database file on a thread of its own.
 * SQLite does this itself by default, inside whichever commit passes 1,000 pages of log, and
 * waits for the disk there (fsync): with a synchronous driver, that stalls the whole server for
 * the length of a disk flush. Here the commits only append to the log, and a worker with its own
 * connection runs passive checkpoints (they never block writers) about once a second while there
 * are writes.
 *
 * A passive checkpoint never starts the log over: SQLite does that at the start of a write only
 * when every frame of the log is in the database file, and under steady writes some frames always
 * came after the last checkpoint, so the log grew without end (680 MB in 16 s at 3,000 messages a
 * second, each read and commit slower as it grew). Once the log passes `restartFrames`, the worker
 * asks for a pause in the writes (`pause`), checkpoints what is left and starts the log over
 * (RESTART), then the writes go on (`resume`): what waits meanwhile is the last frames' copy and
 * the disk flushes (10 to 13 ms here, about once every 2 s at 3,000 messages a second in 100
 * rooms), and the event loop never blocks on it. A quieter server's log starts over by itself,
 * whenever a checkpoint catches up between two writes.
 */
/** The log's length, in pages, past which it is started over (64 MiB of 4 KiB pages). */
const RESTART_FRAMES = 16_384;

/** What the checkpointer needs from its database's writer. */
export interface SqliteCheckpointerOptions {
  /** How soon after a commit a checkpoint follows (default 1 s). */
  readonly intervalMs?: number;
  /** The log's length, in pages, past which it is started over (default 16,384). */
  readonly restartFrames?: number;
  /** Hears once if the worker cannot run; the caller then checkpoints as SQLite does. */
  readonly failed: (error: Error) => void;
  /** Holds the writer's next commits until `resume`, so the log can start over. */
  readonly pause: () => void;
  /** Lets the commits held since `pause` go. */
  readonly resume: () => void;
}

export class SqliteCheckpointer {
  readonly #worker: Worker;
  readonly #intervalMs: number;
  #timer: NodeJS.Timeout | null = null;
  #busy = false;
  #closed = false;
  #failed: ((error: Error) => void) | null;
  readonly #pause: () => void;
  readonly #resume: () => void;
  #paused = false;

  constructor(file: string, options: SqliteCheckpointerOptions) {
    this.#intervalMs = options.intervalMs ?? 1_000;
    this.#failed = options.failed;
    this.#pause = options.pause;
    this.#resume = options.resume;
    this.#worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: {
        file,
        driver: require.resolve('better-sqlite3'),
        nativeBinding: sqliteNativeBinding() ?? null,
        restartFrames: options.restartFrames ?? RESTART_FRAMES,
      },
    });
    this.#worker.on('message', (message: WorkerReply) => {
      if (message === 'restart?' && !this.#closed) {
        this.#paused = true;
        this.#pause();
        this.#worker.postMessage('restart');
        return;
      }
      this.#busy = false;
      // Closing, it stays ref'd until it has exited (`close`).
      if (!this.#closed) this.#worker.unref();
      this.#release();
    });
    this.#worker.on('error', (error) => this.#fail(error));
    // Idle, the worker keeps no process alive (a store left open must not); busy, it does, as the
    // appends held while the log starts over wait for its answer. Unref'd after the listeners:
    // a 'message' listener refs the worker's port again.
    this.#worker.unref();
  }

  /** Notes a commit: a checkpoint follows within the interval. */
  committed(): void {
    if (this.#timer || this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      if (this.#busy || this.#closed) {
        this.committed();
        return;
      }
      this.#busy = true;
      this.#worker.ref();
      this.#worker.postMessage('checkpoint');
    }, this.#intervalMs);
    this.#timer.unref();
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#failed = null;
    if (this.#timer) clearTimeout(this.#timer);
    // Its exit is what `terminate` waits for: unref'd, the process could end first.
    this.#worker.ref();
    await this.#worker.terminate();
    this.#release();
  }

  #release(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.#resume();
  }

  #fail(error: Error): void {
    const failed = this.#failed;
    this.#failed = null;
    this.#closed = true;
    this.#release();
    failed?.(error);
  }
}

/** What the worker answers: a checkpoint done, or a log long enough to start over once the writes pause. */
type WorkerReply = 'done' | 'restart?';

// Plain JavaScript, run with `eval`: no file to find next to the compiled server or under tsx.
const WORKER_SOURCE = `
const fs = require('node:fs');
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { nativeBinding: workerData.nativeBinding });
db.pragma('busy_timeout = 5000');
parentPort.on('message', (message) => {
  let reply = 'done';
  try {
    if (message === 'restart') {
      // The writer is paused: only a reader could hold the restart up (another process reading
      // the file), and the writes wait for it 100 ms at most; the log starts over next time.
      db.pragma('busy_timeout = 100');
      try {
        db.pragma('wal_checkpoint(RESTART)');
      } finally {
        db.pragma('busy_timeout = 5000');
      }
    } else {
      const [{ log }] = db.pragma('wal_checkpoint(PASSIVE)');
      if (log >= workerData.restartFrames) {
        // Most of the restart's work done before the writes pause: a second pass copies what came
        // during the first, and the log's newest frames reach the disk, so the pause is left with
        // a few frames and short flushes (it was some 30 ms with the server's core busy).
        db.pragma('wal_checkpoint(PASSIVE)');
        const log = fs.openSync(workerData.file + '-wal', 'r');
        try {
          fs.fsyncSync(log);
        } finally {
          fs.closeSync(log);
        }
        reply = 'restart?';
      }
    }
  } finally {
    parentPort.postMessage(reply);
  }
});
`;

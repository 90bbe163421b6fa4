import { Worker } from 'node:worker_threads';
import { sqliteNativeBinding } from './sqlite-driver';

/**
 * Copies a SQLite database's write-ahead log back into the database file on a thread of its own.
 * SQLite does this itself by default, inside whichever commit passes 1,000 pages of log, and
 * waits for the disk there (fsync): with a synchronous driver, that stalls the whole server for
 * the length of a disk flush. Here the commits only append to the log, and a worker with its own
 * connection runs passive checkpoints (they never block writers) about once a second while there
 * are writes.
 */
export class SqliteCheckpointer {
  readonly #worker: Worker;
  readonly #intervalMs: number;
  #timer: NodeJS.Timeout | null = null;
  #busy = false;
  #closed = false;
  #failed: ((error: Error) => void) | null;

  /** `failed` hears once if the worker cannot run; the caller then checkpoints as SQLite does. */
  constructor(file: string, options: { intervalMs?: number; failed: (error: Error) => void }) {
    this.#intervalMs = options.intervalMs ?? 1_000;
    this.#failed = options.failed;
    this.#worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { file, driver: require.resolve('better-sqlite3'), nativeBinding: sqliteNativeBinding() ?? null },
    });
    this.#worker.unref();
    this.#worker.on('message', () => {
      this.#busy = false;
    });
    this.#worker.on('error', (error) => this.#fail(error));
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
      this.#worker.postMessage('checkpoint');
    }, this.#intervalMs);
    this.#timer.unref();
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#failed = null;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#worker.terminate();
  }

  #fail(error: Error): void {
    const failed = this.#failed;
    this.#failed = null;
    this.#closed = true;
    failed?.(error);
  }
}

// Plain JavaScript, run with `eval`: no file to find next to the compiled server or under tsx.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { nativeBinding: workerData.nativeBinding });
db.pragma('busy_timeout = 5000');
parentPort.on('message', () => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } finally {
    parentPort.postMessage('done');
  }
});
`;

import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * The worker's code, plain CommonJS evaluated in place so it runs the same from `src/` (tsx)
 * and `dist/`. Requests that arrive while a checkpoint runs are served by one more pass.
 */
const workerSource = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path, { fileMustExist: true });
let wanted = false;
let scheduled = false;
const run = () => {
  scheduled = false;
  while (wanted) {
    wanted = false;
    try {
      db.pragma('wal_checkpoint(PASSIVE)');
    } catch {
      // A hint-only checkpoint: the next request, or SQLite's own, tries again.
    }
  }
};
parentPort.on('message', (message) => {
  if (message === 'close') {
    db.close();
    parentPort.close();
    return;
  }
  wanted = true;
  if (!scheduled) {
    scheduled = true;
    setImmediate(run);
  }
});
`;

/**
 * Checkpoints a WAL-mode SQLite file from a worker thread, on its own connection.
 *
 * SQLite checkpoints automatically in the connection whose commit takes the WAL past 1,000
 * pages, and a checkpoint copies those pages into the database file and fsyncs it: 15–30 ms
 * during which a single-threaded server answers nothing. The secret-use flush, which touches a
 * page per active client, commits with automatic checkpoints off and asks this worker
 * instead. A PASSIVE checkpoint takes no lock that readers or writers wait on.
 */
export class WalCheckpointer {
  readonly #worker: Worker;
  #failed = false;

  constructor(path: string) {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    this.#worker = new Worker(workerSource, { eval: true, workerData: { driver, path } });
    this.#worker.unref();
    this.#worker.on('error', () => {
      this.#failed = true;
    });
    this.#worker.on('exit', () => {
      this.#failed = true;
    });
  }

  /** False once the worker has failed or stopped: commits must then checkpoint themselves. */
  get available(): boolean {
    return !this.#failed;
  }

  request(): void {
    if (!this.#failed) this.#worker.postMessage('checkpoint');
  }

  /** Closes the worker's connection and waits for the thread to end. */
  async close(): Promise<void> {
    if (this.#failed) return;
    const exited = new Promise<void>((resolve) => this.#worker.once('exit', () => resolve()));
    // Held open until it has closed its connection (it is unref'd so it never keeps a process up).
    this.#worker.ref();
    this.#worker.postMessage('close');
    await exited;
  }
}

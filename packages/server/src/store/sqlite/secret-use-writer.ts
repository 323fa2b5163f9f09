import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { SecretUse } from '../sql-driver.js';

/** Records a use unless a later one is already stored (hints may arrive out of order). */
export const recordSecretUseSql =
  'UPDATE client_secrets SET last_used_at = MAX(COALESCE(last_used_at, 0), ?) WHERE client_id = ? AND id = ?';

/**
 * The worker's code, plain CommonJS evaluated in place so it runs the same from `src/` (tsx)
 * and `dist/`. Messages are handled in order: a write, then its reply, then the next.
 */
const workerSource = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path, { fileMustExist: true });
db.pragma('busy_timeout = 5000');
// Hints only: WAL + NORMAL is crash-safe and may lose only the newest hints.
db.pragma('synchronous = NORMAL');
const update = db.prepare(${JSON.stringify(recordSecretUseSql)});
const write = db.transaction((uses) => {
  for (const use of uses) update.run(use.at, use.clientId, use.secretId);
});
parentPort.on('message', (message) => {
  if (message.close) {
    db.close();
    parentPort.close();
    return;
  }
  try {
    write(message.uses);
    parentPort.postMessage({ id: message.id });
  } catch (error) {
    parentPort.postMessage({ id: message.id, error: { message: String(error && error.message), code: error && error.code } });
  }
});
`;

/**
 * Writes secret last-use hints from a worker thread, on its own connection to the same
 * SQLite file.
 *
 * A 10,000-client flush touches a page per client. On the server's own connection that cost
 * the event loop ~1.5 ms per 100 rows plus, several times per flush, an automatic checkpoint
 * (page copy and fsync) of 15-30 ms during which a single-threaded server answers nothing.
 * Here both happen beside the event loop. The store falls back to its own connection when
 * the worker has stopped.
 */
export class SecretUseWriter {
  readonly #worker: Worker;
  readonly #pending = new Map<number, { resolve: () => void; reject: (error: Error) => void }>();
  #nextId = 0;
  #stopped = false;

  constructor(path: string) {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    this.#worker = new Worker(workerSource, { eval: true, workerData: { driver, path } });
    this.#worker.unref();
    this.#worker.on(
      'message',
      (reply: { id: number; error?: { message: string; code: unknown } }) => {
        const waiting = this.#pending.get(reply.id);
        if (!waiting) return;
        this.#pending.delete(reply.id);
        if (this.#pending.size === 0) this.#worker.unref();
        if (reply.error) {
          // The SQLite code (SQLITE_FULL, SQLITE_READONLY, …) is what the write guard reads.
          waiting.reject(Object.assign(new Error(reply.error.message), { code: reply.error.code }));
        } else waiting.resolve();
      },
    );
    const stop = (error?: Error) => {
      this.#stopped = true;
      for (const waiting of this.#pending.values())
        waiting.reject(error ?? new Error('the secret-use writer thread stopped'));
      this.#pending.clear();
    };
    this.#worker.on('error', stop);
    this.#worker.on('exit', () => stop());
  }

  /** False once the worker has failed or stopped: the store then writes itself. */
  get available(): boolean {
    return !this.#stopped;
  }

  /** Resolves once the uses are committed (visible to every connection). */
  write(uses: readonly SecretUse[]): Promise<void> {
    const id = (this.#nextId += 1);
    return new Promise<void>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      // Kept alive only while a write is outstanding.
      this.#worker.ref();
      this.#worker.postMessage({ id, uses });
    });
  }

  /** Lets outstanding writes finish, closes the worker's connection and ends the thread. */
  async close(): Promise<void> {
    if (this.#stopped) return;
    const exited = new Promise<void>((resolve) => this.#worker.once('exit', () => resolve()));
    this.#worker.ref();
    this.#worker.postMessage({ close: true });
    await exited;
  }
}

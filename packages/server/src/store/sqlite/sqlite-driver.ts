import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { SecretUse, SqlDriver, SqlExecutor } from '../sql-driver.js';
import { recordSecretUseSql, SecretUseWriter } from './secret-use-writer.js';

/** How often the store looks for commits by other processes when nobody asks (ms). */
const watchIntervalMs = 200;

/**
 * The tail of each database file's transaction queue. better-sqlite3 is synchronous but the
 * store's transactions are async functions, so two connections of one process to one file
 * must not interleave: the second BEGIN IMMEDIATE would wait (synchronously, blocking the
 * event loop) for a COMMIT that can then never run. Other processes wait in busy_timeout.
 */
const fileQueues = new Map<string, Promise<void>>();

/**
 * SQLite through better-sqlite3, in WAL mode. Writes use `synchronous=FULL` so a write the CLI
 * acknowledged survives a kill -9 or power loss right after it returns. Statements run
 * synchronously and are prepared once; a read waits only while this connection has a
 * transaction open or queued (so it never sees an uncommitted write), otherwise it answers
 * without a tick. Changes by other processes are seen through `PRAGMA data_version`.
 */
export class SqliteDriver implements SqlDriver {
  readonly dialect = 'sqlite';
  readonly insertionOrder = 'rowid';
  readonly bytewise = '';
  readonly notIndexed = '+';
  readonly #db: Database.Database;
  readonly #statements = new Map<string, Database.Statement>();
  readonly #queueKey: string;
  /** Transactions of this connection queued or running, and when the last one settles. */
  #pending = 0;
  #idle: Promise<void> = Promise.resolve();
  readonly #tx: SqlExecutor = {
    all: (sql, params) => this.#all(sql, params),
    run: (sql, params) => this.#run(sql, params),
    exec: (sql) => void this.#db.exec(sql),
  };
  #dataVersion: number;
  #writer: SecretUseWriter | undefined;
  /** Polling timers (one while the store has watchers), cleared on close. */
  readonly #timers = new Set<NodeJS.Timeout>();

  constructor(readonly path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.#queueKey = path === ':memory:' ? `:memory:${Math.random()}` : path;
    this.#db = new Database(path);
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('synchronous = FULL');
    this.#db.pragma('foreign_keys = ON');
    this.#db.pragma('busy_timeout = 5000');
    this.#dataVersion = this.#readDataVersion();
  }

  all<R>(sql: string, params?: readonly unknown[]): R[] | Promise<R[]> {
    if (this.#pending === 0) return this.#all<R>(sql, params);
    return this.#idle.then(() => this.#all<R>(sql, params));
  }

  // IMMEDIATE takes the write lock first, so a transaction that reads before it writes
  // (migrations, key transitions) is serialized with every other process's.
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T> | T): Promise<T> {
    return this.#serialize(async () => {
      this.#statement('BEGIN IMMEDIATE').run();
      try {
        const result = await fn(this.#tx);
        this.#statement('COMMIT').run();
        return result;
      } catch (error) {
        if (this.#db.inTransaction) this.#statement('ROLLBACK').run();
        throw error;
      }
    });
  }

  async recordSecretUse(uses: readonly SecretUse[]): Promise<void> {
    const writer = this.#secretUseWriter();
    if (writer) return writer.write(uses);
    await this.#serialize(() => {
      const update = this.#statement(recordSecretUseSql);
      // Last-use times are hints, not acknowledged writes: skip the fsync (WAL + NORMAL is
      // still crash-safe, it may only lose the newest hints), which kept the 100k-client
      // bench's event loop waiting on the disk every flush.
      this.#db.pragma('synchronous = NORMAL');
      try {
        this.#db.transaction(() => {
          for (const use of uses) update.run(use.at, use.clientId, use.secretId);
        })();
      } finally {
        this.#db.pragma('synchronous = FULL');
      }
    });
  }

  /** Started on the first secret-use flush, so only a serving process runs the thread. */
  #secretUseWriter(): SecretUseWriter | undefined {
    if (this.path === ':memory:' || !this.#db.open) return undefined;
    this.#writer ??= new SecretUseWriter(this.path);
    return this.#writer.available ? this.#writer : undefined;
  }

  /** A consistent copy of the live database, taken with SQLite's online backup API. */
  async backup(destination: string): Promise<void> {
    await this.#db.backup(destination);
  }

  watch(onChange: () => void): () => void {
    const timer = setInterval(() => {
      if (this.hasForeignChanges()) onChange();
    }, watchIntervalMs);
    timer.unref();
    this.#timers.add(timer);
    return () => {
      clearInterval(timer);
      this.#timers.delete(timer);
    };
  }

  hasForeignChanges(): boolean {
    const version = this.#readDataVersion();
    if (version === this.#dataVersion) return false;
    this.#dataVersion = version;
    return true;
  }

  async close(): Promise<void> {
    for (const timer of this.#timers) clearInterval(timer);
    this.#timers.clear();
    await this.#idle;
    await this.#writer?.close();
    if (this.#db.open) this.#db.close();
  }

  // Prepared once: this runs on every token request, and db.pragma() prepares it each time.
  #dataVersionStatement: Database.Statement | undefined;
  #readDataVersion(): number {
    this.#dataVersionStatement ??= this.#db.prepare('PRAGMA data_version').pluck();
    return this.#dataVersionStatement.get() as number;
  }

  #statement(sql: string): Database.Statement {
    let statement = this.#statements.get(sql);
    if (!statement) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  #all<R>(sql: string, params: readonly unknown[] = []): R[] {
    return this.#statement(sql).all(params) as R[];
  }

  #run(sql: string, params: readonly unknown[] = []): number {
    return this.#statement(sql).run(params).changes;
  }

  /** Runs `fn` after every transaction queued before it on this file, by any connection. */
  #serialize<T>(fn: () => Promise<T> | T): Promise<T> {
    const key = this.#queueKey;
    const result = (fileQueues.get(key) ?? Promise.resolve()).then(fn);
    const settled = result.then(
      () => {},
      () => {},
    );
    fileQueues.set(key, settled);
    this.#pending += 1;
    this.#idle = settled;
    void settled.then(() => {
      this.#pending -= 1;
      if (fileQueues.get(key) === settled) fileQueues.delete(key);
    });
    return result;
  }
}

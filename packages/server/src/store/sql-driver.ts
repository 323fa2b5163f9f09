export type Dialect = 'sqlite' | 'postgres';

/** One secret use, as `Store.recordSecretUse` takes it. */
export interface SecretUse {
  clientId: string;
  secretId: string;
  at: number;
}

/**
 * Statements on one connection. SQL uses `?` placeholders in both dialects (the PostgreSQL
 * driver numbers them, so `?` appears nowhere else in the SQL text). A driver may answer
 * synchronously (better-sqlite3 does), so callers `await` the result rather than expect a
 * promise.
 */
export interface SqlExecutor {
  /** The rows of one statement (a SELECT, or a write with RETURNING). */
  all<R>(sql: string, params?: readonly unknown[]): Promise<R[]> | R[];
  /** Runs one statement; returns how many rows it changed. */
  run(sql: string, params?: readonly unknown[]): Promise<number> | number;
  /** Runs several statements without parameters (migrations). */
  exec(sql: string): Promise<void> | void;
}

/**
 * Serializes a transaction with others of its kind: `keys` with every key write, `migrations`
 * with every migration (and makes sure the schema exists), on every instance.
 */
export type TransactionLock = 'keys' | 'migrations';

/**
 * What a database contributes to the one store (sql-store.ts): statements outside and inside a
 * transaction, the few places where the dialects genuinely differ, and change watching.
 * Everything else (the SQL, the row mapping, the change feed, the audit trail) is shared.
 */
export interface SqlDriver {
  readonly dialect: Dialect;
  /**
   * A read outside any transaction, on any connection (PostgreSQL retries it once when the
   * connection was broken). Writes always go through {@link SqlDriver.transaction}.
   */
  all: SqlExecutor['all'];
  /** The column that orders a client's secrets after `created_at` (insertion order). */
  readonly insertionOrder: string;
  /**
   * Appended to a text expression so it compares byte by byte, as the prefix indexes of
   * migration 8 do (PostgreSQL: ` COLLATE "C"`; SQLite's default is already binary).
   */
  readonly bytewise: string;
  /**
   * Prefixed to a column in a condition the planner must not choose an index for (SQLite:
   * `+`, its documented way; PostgreSQL: nothing, its planner has statistics). SQLite,
   * without statistics, takes any index whose first column is compared for equality.
   */
  readonly notIndexed: string;
  /**
   * Runs `fn` in one write transaction, committed when it resolves and rolled back when it
   * throws. `fn` uses `tx` only: a statement on the driver itself would wait for the
   * transaction to end (SQLite) or run outside it (PostgreSQL).
   */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T> | T, lock?: TransactionLock): Promise<T>;
  /**
   * Called in the transaction right before a change row is appended (PostgreSQL: the lock that
   * makes change rows commit in sequence order) and right after (PostgreSQL: the NOTIFY).
   */
  beforeChange?(tx: SqlExecutor): Promise<void>;
  afterChange?(tx: SqlExecutor): Promise<void>;
  /** Last-use hints: no change row; each dialect has its fastest way to write a batch. */
  recordSecretUse(uses: readonly SecretUse[]): Promise<void>;
  /**
   * Starts the one source of change hints (SQLite: polling `PRAGMA data_version`; PostgreSQL:
   * a LISTEN connection) and returns its stop function; the store fans hints out to its
   * watchers. `close` stops whatever is still running. See `Store.watch` and
   * `Store.hasForeignChanges` (contract.ts).
   */
  watch(onChange: () => void): () => void;
  hasForeignChanges(): boolean;
  close(): Promise<void>;
}

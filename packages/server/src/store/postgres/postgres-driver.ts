import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { isConnectionError, storeError } from '../errors.js';
import type { SecretUse, SqlDriver, SqlExecutor, TransactionLock } from '../sql-driver.js';
import { ChangeListener, channelSql } from './change-listener.js';
import { postgresConnection } from './connection.js';

/**
 * Advisory lock classes (first half of the two-int key; the second is the schema's hash), so
 * deployments in different schemas of one database never wait on each other.
 */
const migrationLock = 7_355_001;
const keysLock = 7_355_002;
const changesLock = 7_355_003;

/**
 * Tries at acquiring a working connection and BEGIN: after a server restart the pool may still
 * hold a few dead connections, and nothing has been written when BEGIN fails.
 */
const beginAttempts = 3;

type Queryable = Pick<pg.PoolClient, 'query'>;

export interface PostgresStoreOptions {
  /** Most pooled connections per process (default 10). */
  poolSize?: number;
}

/** `?` placeholders numbered as PostgreSQL wants them (`$1`, `$2`, …), once per statement. */
const numbered = new Map<string, string>();
function numberPlaceholders(sql: string): string {
  let text = numbered.get(sql);
  if (text === undefined) {
    let n = 0;
    text = sql.replace(/\?/g, () => `$${(n += 1)}`);
    numbered.set(sql, text);
  }
  return text;
}

/** An executor over node-postgres: always asynchronous. */
interface PgExecutor extends SqlExecutor {
  all<R>(sql: string, params?: readonly unknown[]): Promise<R[]>;
  run(sql: string, params?: readonly unknown[]): Promise<number>;
  exec(sql: string): Promise<void>;
}

function executor(db: Queryable): PgExecutor {
  return {
    all: async <R>(sql: string, params?: readonly unknown[]) =>
      (await db.query(numberPlaceholders(sql), params as unknown[])).rows as R[],
    run: async (sql, params) =>
      (await db.query(numberPlaceholders(sql), params as unknown[])).rowCount ?? 0,
    exec: async (sql) => void (await db.query(sql)),
  };
}

/**
 * One PostgreSQL database (optionally one schema in it, `?schema=NAME`) through a node-postgres
 * pool. Every transaction that appends to `changes` also sends a `NOTIFY`, delivered on
 * commit; each process LISTENs on a dedicated connection. Change rows are appended under a
 * transaction-scoped advisory lock, so sequence numbers become visible in order and a feed
 * cursor never skips one. Connection failures surface as {@link StoreUnavailableError}.
 */
export class PostgresDriver implements SqlDriver {
  readonly dialect = 'postgres';
  readonly insertionOrder = 'position';
  readonly bytewise = ' COLLATE "C"';
  readonly notIndexed = '';
  readonly #pool: pg.Pool;
  readonly #outside: PgExecutor;
  readonly #config: pg.ClientConfig;
  readonly #schema: string | undefined;
  /** Sent as the NOTIFY payload, so this store ignores its own notifications. */
  readonly #instanceId = randomUUID();
  /** Running LISTEN connections (one while the store has watchers), stopped on close. */
  readonly #listeners = new Set<ChangeListener>();

  constructor(url: string, options: PostgresStoreOptions = {}) {
    const { config, schema } = postgresConnection(url);
    this.#config = config;
    this.#schema = schema;
    this.#pool = new pg.Pool({ ...config, max: options.poolSize ?? 10, idleTimeoutMillis: 10_000 });
    // An idle pooled connection that breaks (server restart, pg_terminate_backend) is dropped
    // by the pool; without this listener its 'error' event would end the process.
    this.#pool.on('error', () => {});
    this.#outside = executor(this.#pool);
  }

  all<R>(sql: string, params?: readonly unknown[]): Promise<R[]> {
    return this.#read(() => this.#outside.all<R>(sql, params));
  }

  async beforeChange(tx: SqlExecutor): Promise<void> {
    await tx.all('SELECT pg_advisory_xact_lock(?, hashtext(current_schema()))', [changesLock]);
  }

  async afterChange(tx: SqlExecutor): Promise<void> {
    await tx.all(`SELECT pg_notify(${channelSql}, ?)`, [this.#instanceId]);
  }

  async recordSecretUse(uses: readonly SecretUse[]): Promise<void> {
    // One row per secret (the latest use), so the UPDATE … FROM matches each row once.
    const latest = new Map<string, SecretUse>();
    for (const use of uses) {
      const key = `${use.clientId}\u0000${use.secretId}`;
      if ((latest.get(key)?.at ?? -Infinity) < use.at) latest.set(key, use);
    }
    const rows = [...latest.values()];
    await this.transaction((tx) =>
      tx.run(
        `UPDATE client_secrets s SET last_used_at = GREATEST(COALESCE(s.last_used_at, 0), u.at)
             FROM unnest(?::text[], ?::text[], ?::bigint[]) AS u (client_id, id, at)
            WHERE s.client_id = u.client_id AND s.id = u.id`,
        [rows.map((r) => r.clientId), rows.map((r) => r.secretId), rows.map((r) => r.at)],
      ),
    );
  }

  watch(onChange: () => void): () => void {
    const listener = new ChangeListener(this.#config, this.#instanceId, onChange);
    listener.start();
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
      void listener.stop();
    };
  }

  /** Push-notified through LISTEN/NOTIFY: there is never anything to poll for. */
  hasForeignChanges(): boolean {
    return false;
  }

  async close(): Promise<void> {
    const listeners = [...this.#listeners];
    this.#listeners.clear();
    await Promise.all(listeners.map((listener) => listener.stop()));
    if (!this.#pool.ended) await this.#pool.end();
  }

  /** Takes the transaction's lock; for migrations, also makes sure the schema exists. */
  async #lock(tx: SqlExecutor, lock: TransactionLock): Promise<void> {
    if (lock === 'keys') {
      await tx.all('SELECT pg_advisory_xact_lock(?, hashtext(current_schema()))', [keysLock]);
      return;
    }
    const scope =
      this.#schema ??
      (await tx.all<{ schema: string | null }>('SELECT current_schema() AS schema'))[0]!.schema ??
      'public';
    // Instances starting together: the first migrates, the others wait here and find the
    // schema up to date.
    await tx.all('SELECT pg_advisory_xact_lock(?, hashtext(?))', [migrationLock, scope]);
    if (this.#schema) {
      await tx.exec(`CREATE SCHEMA IF NOT EXISTS "${this.#schema}"`);
      await tx.exec(`SET LOCAL search_path TO "${this.#schema}"`);
    }
  }

  /** A read on any pooled connection, tried once more on a fresh one if the first was broken. */
  async #read<T>(fn: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await fn();
      } catch (error) {
        if (attempt >= 2 || !isConnectionError(error)) throw storeError(error);
      }
    }
  }

  /**
   * Runs `fn` inside BEGIN … COMMIT on one connection. Only acquiring the connection and BEGIN
   * are retried (nothing was written yet); a failure after that is reported, never replayed,
   * and a failed COMMIT is reported as unavailable: the caller was not told it succeeded.
   */
  async transaction<T>(
    fn: (tx: SqlExecutor) => Promise<T> | T,
    lock?: TransactionLock,
  ): Promise<T> {
    for (let attempt = 1; ; attempt += 1) {
      let client: pg.PoolClient;
      try {
        client = await this.#pool.connect();
      } catch (error) {
        if (attempt >= beginAttempts || !isConnectionError(error)) throw storeError(error);
        continue;
      }
      // A checked-out connection has no listener of the pool's: a broken socket would
      // otherwise raise an unhandled 'error' event and end the process.
      let broken: Error | undefined;
      const onError = (error: Error) => {
        broken ??= error;
      };
      client.on('error', onError);
      let begun = false;
      try {
        await client.query('BEGIN');
        begun = true;
        const tx = executor(client);
        if (lock) await this.#lock(tx, lock);
        const result = await fn(tx);
        await client.query('COMMIT');
        return result;
      } catch (error) {
        if (isConnectionError(error)) broken ??= error as Error;
        else await client.query('ROLLBACK').catch((rollback: Error) => (broken ??= rollback));
        if (begun || attempt >= beginAttempts || !isConnectionError(error)) throw storeError(error);
      } finally {
        client.off('error', onError);
        client.release(broken);
      }
    }
  }
}

import { SqlStore } from '../sql-store.js';
import { SqliteDriver } from './sqlite-driver.js';

/**
 * The embedded default store: one SQLite file in WAL mode (see {@link SqliteDriver}), plus the
 * online backup that only SQLite has (`tessera backup`).
 */
export class SqliteStore extends SqlStore {
  readonly #driver: SqliteDriver;

  constructor(readonly path: string) {
    const driver = new SqliteDriver(path);
    super(driver);
    this.#driver = driver;
  }

  /** A consistent copy of the live database, taken with SQLite's online backup API. */
  backup(destination: string): Promise<void> {
    return this.#driver.backup(destination);
  }
}

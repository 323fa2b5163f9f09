import { SqlStore } from '../sql-store.js';
import { PostgresDriver, type PostgresStoreOptions } from './postgres-driver.js';

export type { PostgresStoreOptions } from './postgres-driver.js';

/**
 * The shared store for several instances: one PostgreSQL database, optionally one schema in
 * it (`?schema=NAME`); see {@link PostgresDriver}.
 */
export class PostgresStore extends SqlStore {
  constructor(url: string, options: PostgresStoreOptions = {}) {
    super(new PostgresDriver(url, options));
  }
}

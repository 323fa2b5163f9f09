import { resolve } from 'node:path';
import type { Store } from './contract.js';
import { guardWrites } from './write-guard.js';
import { PostgresDriver } from './postgres/postgres-driver.js';
import { PostgresStore } from './postgres/postgres-store.js';
import { ReplicatedStore, type ReplicatedStoreOptions } from './replica/replicated-store.js';
import { SqlStore } from './sql-store.js';
import { SqliteStore } from './sqlite/sqlite-store.js';

/** Parsed `--database` / `DATABASE_URL` value. */
export type DatabaseLocation = { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string };

export function parseDatabaseUrl(url: string): DatabaseLocation {
  if (url.startsWith('postgres://') || url.startsWith('postgresql://'))
    return { kind: 'postgres', url };
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    if (path === '') throw new Error(`--database ${url}: the SQLite URL names no file`);
    return { kind: 'sqlite', path: path === ':memory:' ? path : resolve(path) };
  }
  throw new Error(`--database ${url}: expected sqlite:PATH or postgres://…`);
}

/**
 * Opens and migrates the store at `location`. With `replicas` (PostgreSQL streaming replicas
 * of that primary, `--database-replica`), reads go to the first replica that answers and
 * writes to the primary: see {@link ReplicatedStore}.
 */
export async function openStore(
  location: DatabaseLocation,
  replicas: readonly string[] = [],
  options: ReplicatedStoreOptions = {},
): Promise<Store> {
  if (replicas.length > 0) {
    if (location.kind !== 'postgres')
      throw new Error('--database-replica needs a PostgreSQL --database (the primary)');
    return openReplicated(location.url, replicas, options);
  }
  const store =
    location.kind === 'postgres' ? new PostgresStore(location.url) : new SqliteStore(location.path);
  try {
    await store.migrate();
  } catch (error) {
    await store.close();
    throw error;
  }
  return guardWrites(store);
}

async function openReplicated(
  primaryUrl: string,
  replicaUrls: readonly string[],
  options: ReplicatedStoreOptions,
): Promise<Store> {
  const primaryDriver = new PostgresDriver(primaryUrl);
  const replicas = replicaUrls.map((url) => {
    if (parseDatabaseUrl(url).kind !== 'postgres')
      throw new Error(`--database-replica ${url}: expected postgres://…`);
    const driver = new PostgresDriver(url);
    return { driver, store: new SqlStore(driver) };
  });
  const store = new ReplicatedStore(
    guardWrites(new SqlStore(primaryDriver)),
    primaryDriver,
    replicas,
    options,
  );
  try {
    await store.migrate();
  } catch (error) {
    await store.close();
    throw error;
  }
  return store;
}

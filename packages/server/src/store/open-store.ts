import { resolve } from 'node:path';
import type { Store } from './contract.js';
import { guardWrites } from './write-guard.js';
import { PostgresStore } from './postgres/postgres-store.js';
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

/** Opens and migrates the store at `location`. */
export async function openStore(location: DatabaseLocation): Promise<Store> {
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

import { dirname, join, resolve } from 'node:path';
import { parseDatabaseUrl } from '../store/open-store.js';

/**
 * Every file Tessera keeps on disk, named once. The data directory holds the SQLite database
 * (by default) and the generated key-encryption key file.
 */
export const paths = {
  /** Data directory when neither `TESSERA_DATA_DIR` nor a SQLite `--database` names one. */
  defaultDataDir: 'data',
  /** The SQLite database in the data directory when no `--database` is given. */
  databaseFile: 'tessera.db',
  /** The generated key-encryption key (mode 0600) when `TESSERA_KEK` is not set. */
  kekFile: 'kek.key',
} as const;

/**
 * The data directory, absolute. Without `TESSERA_DATA_DIR`, a SQLite database's directory, so
 * the key file always sits beside the data it unlocks; else `./data`.
 */
export function resolveDataDir(explicit: string | undefined, database: string | undefined): string {
  return resolve(
    explicit ?? (database ? dataDirFor(database, undefined) : undefined) ?? paths.defaultDataDir,
  );
}

/**
 * With `--database sqlite:PATH` and no `TESSERA_DATA_DIR`, the data directory is the SQLite
 * file's directory; undefined for PostgreSQL and in-memory SQLite.
 */
export function dataDirFor(
  database: string,
  explicitDataDir: string | undefined,
): string | undefined {
  if (explicitDataDir) return explicitDataDir;
  const location = parseDatabaseUrl(database);
  return location.kind === 'sqlite' && location.path !== ':memory:'
    ? dirname(location.path)
    : undefined;
}

/** `sqlite:<dataDir>/tessera.db`: the database when none is configured. */
export function defaultDatabase(dataDir: string): string {
  return `sqlite:${join(dataDir, paths.databaseFile)}`;
}

/** Where the generated key-encryption key lives when `TESSERA_KEK` is not set. */
export function kekFile(config: { dataDir: string }): string {
  return join(config.dataDir, paths.kekFile);
}

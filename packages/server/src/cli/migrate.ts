import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import pg from 'pg';
import { postgresConnection } from '../store/postgres/connection.js';
import { openStore, parseDatabaseUrl, type DatabaseLocation } from '../store/open-store.js';
import { cliConfig, databaseOption, parse, print } from './common.js';
import { UsageError } from './usage.js';

/** `tessera migrate`: applies pending migrations and says which ones it applied. */
export async function migrateCommand(args: string[]): Promise<void> {
  const { values, positionals } = parse(args, databaseOption);
  if (positionals.length > 0) throw new UsageError('migrate takes no arguments');
  const location = parseDatabaseUrl(cliConfig(values).database);
  const before = await appliedMigrations(location);
  const store = await openStore(location);
  await store.close();
  const after = await appliedMigrations(location);
  const applied = after.filter((migration) => !before.some((b) => b.version === migration.version));
  const version = Math.max(0, ...after.map((migration) => migration.version));
  if (applied.length === 0) {
    print(`The database schema is up to date (version ${version}); nothing to apply.`);
    return;
  }
  print(
    `Applied ${applied.length} migration(s), the schema is now at version ${version}:\n${applied
      .map((migration) => `  ${migration.version}  ${migration.name}`)
      .join('\n')}`,
  );
}

interface AppliedMigration {
  version: number;
  name: string;
}

/**
 * The rows of `schema_migrations`, the table every Tessera database keeps its history in; none
 * for a database that does not exist yet. Read beside the store, which only says "migrated".
 */
async function appliedMigrations(location: DatabaseLocation): Promise<AppliedMigration[]> {
  const query = 'SELECT version, name FROM schema_migrations ORDER BY version';
  if (location.kind === 'sqlite') {
    if (location.path === ':memory:' || !existsSync(location.path)) return [];
    const db = new Database(location.path, { readonly: true, fileMustExist: true });
    try {
      const table = db
        .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'")
        .get();
      return table ? (db.prepare(query).all() as AppliedMigration[]) : [];
    } finally {
      db.close();
    }
  }
  const client = new pg.Client(postgresConnection(location.url).config);
  await client.connect();
  try {
    return (await client.query<AppliedMigration>(query)).rows;
  } catch (error) {
    // 42P01 undefined_table: nothing migrated yet (or the ?schema= does not exist yet).
    if ((error as { code?: string }).code === '42P01') return [];
    throw error;
  } finally {
    await client.end();
  }
}

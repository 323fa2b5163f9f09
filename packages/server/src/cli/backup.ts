import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { SqliteStore } from '../store/sqlite/sqlite-store.js';
import { openStore, parseDatabaseUrl } from '../store/open-store.js';
import { cliConfig, databaseOption, onePositional, parse, print, printJson } from './common.js';
import { UsageError } from './usage.js';

const postgresAdvice =
  'for PostgreSQL, use pg_dump / pg_restore (see "Operating Tessera" in the README); the key-encryption key is never in the database';

/**
 * `tessera backup --out FILE`: a consistent online copy of the SQLite database (SQLite's backup
 * API), safe while a server runs. Secrets are in it only as hashes and private keys only
 * sealed: keep the key-encryption key (kek.key or TESSERA_KEK) apart from it.
 */
export async function backupCommand(args: string[]): Promise<void> {
  const { values, positionals } = parse(args, {
    ...databaseOption,
    out: { type: 'string' },
    force: { type: 'boolean' },
    json: { type: 'boolean' },
  });
  if (positionals.length > 0) throw new UsageError('backup takes no arguments; use --out FILE');
  if (!values.out) throw new UsageError('backup needs --out FILE');
  const out = resolve(values.out);
  if (existsSync(out) && !values.force)
    throw new Error(`${out} exists; pass --force to overwrite it`);
  const location = parseDatabaseUrl(cliConfig(values).database);
  if (location.kind !== 'sqlite')
    throw new Error(`tessera backup works on SQLite; ${postgresAdvice}`);
  const store = await openStore(location);
  try {
    await (store as SqliteStore).backup(out);
  } finally {
    await store.close();
  }
  const summary = describe(out);
  if (values.json) return printJson({ file: out, ...summary });
  print(
    `Backed up ${summary.clients} client(s), ${summary.keys} key(s) and ${summary.revocations} revocation(s) to ${out}.`,
  );
  printTokenKeyNote(out);
}

/** `tessera restore FILE`: brings a backup back into the database (stop the servers first). */
export async function restoreCommand(args: string[]): Promise<void> {
  const { values, positionals } = parse(args, {
    ...databaseOption,
    force: { type: 'boolean' },
    json: { type: 'boolean' },
  });
  const file = resolve(onePositional(positionals, 'backup file'));
  if (!existsSync(file)) throw new Error(`${file} does not exist`);
  const location = parseDatabaseUrl(cliConfig(values).database);
  if (location.kind !== 'sqlite')
    throw new Error(`tessera restore works on SQLite; ${postgresAdvice}`);
  const summary = describe(file);
  if (existsSync(location.path) && !values.force) {
    throw new Error(
      `${location.path} exists; stop every server using it and pass --force to replace it with the backup`,
    );
  }
  // SQLite's own message here says "Cannot save backup", which blames the wrong file.
  if (!existsSync(dirname(location.path)))
    throw new Error(
      `cannot restore into ${location.path}: the directory ${dirname(location.path)} does not exist`,
    );
  const source = new Database(file, { readonly: true, fileMustExist: true });
  try {
    await source.backup(location.path);
  } finally {
    source.close();
  }
  // Applies any migration newer than the backup.
  await (await openStore(location)).close();
  if (values.json) return printJson({ file, database: location.path, ...summary });
  print(
    `Restored ${summary.clients} client(s), ${summary.keys} key(s) and ${summary.revocations} revocation(s) into ${location.path}.`,
  );
  printTokenKeyNote(file);
}

/**
 * Keys in a PKCS#11 token are only named in the database (label and public key): their
 * private halves are in the HSM, which its own backup (or cluster replication) covers.
 */
function printTokenKeyNote(file: string): void {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const rows = db
      .prepare(
        "SELECT key_handle FROM signing_keys WHERE key_store = 'pkcs11' AND state <> 'retired'",
      )
      .all() as Array<{ key_handle: string }>;
    if (rows.length === 0) return;
    const tokens = [
      ...new Set(
        rows.map((row) => (JSON.parse(row.key_handle) as { tokenLabel: string }).tokenLabel),
      ),
    ];
    print(
      `${rows.length} key(s) live in PKCS#11 token(s) ${tokens.map((t) => `"${t}"`).join(', ')}: the file holds only their labels and public keys; back the token up with the HSM's own tools.`,
    );
  } catch {
    // A database from before key locations existed: every key is sealed in it.
  } finally {
    db.close();
  }
}

/** Counts what a backup holds, and refuses a file that is not a Tessera database. */
function describe(file: string): { clients: number; keys: number; revocations: number } {
  let db: Database.Database | undefined;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    const check = db.pragma('quick_check', { simple: true });
    if (check !== 'ok') throw new Error(`integrity check: ${String(check)}`);
    const count = (table: string) =>
      (db!.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
    return {
      clients: count('clients'),
      keys: count('signing_keys'),
      revocations: count('revocations'),
    };
  } catch (error) {
    throw new Error(`${file} is not a readable Tessera backup (${(error as Error).message})`);
  } finally {
    db?.close();
  }
}

/**
 * Seeds many clients into a Tessera SQLite data directory in one transaction, using the
 * server's own config, storage opening (migrations, pepper) and secret hashing. The CLI makes
 * one durable transaction per client, far too slow for 100,000.
 *
 *   node --import tsx bench/seed-clients.ts --data-dir DIR --count 100000 --spread 10000 --out FILE
 *
 * Writes the credentials of `spread` clients, evenly spaced across all of them, to FILE as
 * JSON `[{ clientId, clientSecret }]`. Start the server only after this has finished: it
 * caches clients and this writes no `changes` rows.
 */
import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadConfig } from '../packages/server/src/config.js';
import { openStorage } from '../packages/server/src/runtime.js';
import { generateClientSecret } from '../packages/server/src/secrets/client-secret.js';
import { parseDatabaseUrl } from '../packages/server/src/store/open-store.js';

const { values } = parseArgs({
  options: {
    'data-dir': { type: 'string' },
    count: { type: 'string', default: '100000' },
    spread: { type: 'string', default: '10000' },
    out: { type: 'string' },
  },
});
const dataDir = values['data-dir'];
const out = values.out;
if (!dataDir || !out) throw new Error('usage: seed-clients.ts --data-dir DIR --count N --spread M --out FILE');
const count = Number(values.count);
const spread = Math.min(Number(values.spread), count);

const started = Date.now();
const env = { ...process.env, TESSERA_DATA_DIR: dataDir };
const config = loadConfig(env);
// Migrates the schema and creates the pepper exactly as the server and CLI would.
const { store, hasher } = await openStorage(config, env);
await store.close();

const location = parseDatabaseUrl(config.database);
if (location.kind !== 'sqlite') throw new Error('seeding needs a SQLite database');
const db = new Database(location.path);
db.pragma('journal_mode = WAL');
db.pragma('foreign_keys = ON');

const insertClient = db.prepare(
  `INSERT INTO clients (client_id, name, status, scopes, audiences, token_ttl, auth_method, grant_types, created_at, updated_at)
   VALUES (?, ?, 'active', ?, ?, NULL, 'any', ?, ?, ?)`,
);
const insertSecret = db.prepare(
  'INSERT INTO client_secrets (id, client_id, hash, created_at, expires_at, last_used_at) VALUES (?, ?, ?, ?, ?, ?)',
);
const now = Math.floor(Date.now() / 1000);
const step = Math.max(1, Math.floor(count / spread));
const chosen: Array<{ clientId: string; clientSecret: string }> = [];
const noScopes = JSON.stringify([]);
const grantTypes = JSON.stringify(['client_credentials']);

db.transaction(() => {
  for (let i = 0; i < count; i += 1) {
    const clientId = randomUUID();
    const clientSecret = generateClientSecret();
    insertClient.run(clientId, `bench-${i}`, noScopes, noScopes, grantTypes, now, now);
    const secret = hasher.newRecord(clientSecret, now);
    insertSecret.run(secret.id, clientId, secret.hash, secret.createdAt, secret.expiresAt, secret.lastUsedAt);
    if (i % step === 0 && chosen.length < spread) chosen.push({ clientId, clientSecret });
  }
})();
db.pragma('wal_checkpoint(TRUNCATE)');
db.close();

writeFileSync(out, JSON.stringify(chosen));
console.log(JSON.stringify({ seeded: count, spread: chosen.length, ms: Date.now() - started }));

/**
 * Seeds many clients into a Tessera store (SQLite data directory or PostgreSQL), fast: the
 * server's own config, storage opening (migrations, pepper) and secret hashing, then
 * `Store.importClients` (multi-row INSERTs, 10,000 clients per transaction, one change row
 * each). The CLI and the admin API make one durable transaction per client, far too slow for
 * a million. About 25 s per million on SQLite on a 2-core machine (see bench/README.md).
 *
 *   node --import tsx bench/seed-clients.ts --data-dir DIR [--database URL] --count 1000000 \
 *     --spread 100000 --out FILE [--admin-out FILE]
 *
 * Writes the credentials of `spread` clients, evenly spaced across all of them, to FILE as
 * JSON `[{ clientId, clientSecret }]`; with --admin-out, also makes one `tessera:admin` client
 * and writes its credentials there. Ids are `RUN-NNNNNNN` and names `bench-NNNNNNN` (seven
 * digits): prefix search targets.
 */
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { loadConfig } from '../packages/server/src/config.js';
import { ClientRegistry } from '../packages/server/src/registry/client-registry.js';
import { openStorage } from '../packages/server/src/runtime.js';
import { generateClientSecret } from '../packages/server/src/secrets/client-secret.js';
import type { NewClient } from '../packages/server/src/store/contract.js';
import { benchClient } from './lib/bench-client.js';

const { values } = parseArgs({
  options: {
    'data-dir': { type: 'string' },
    database: { type: 'string' },
    count: { type: 'string', default: '100000' },
    spread: { type: 'string', default: '10000' },
    out: { type: 'string' },
    'admin-out': { type: 'string' },
  },
});
const dataDir = values['data-dir'];
const out = values.out;
if (!dataDir || !out)
  throw new Error(
    'usage: seed-clients.ts --data-dir DIR [--database URL] --count N --spread M --out FILE [--admin-out FILE]',
  );
const count = Number(values.count);
const spread = Math.min(Number(values.spread), count);
const batch = 10_000;
/** A new id prefix per run, so a second seeding of one store never collides. */
const run = randomUUID().slice(0, 8);

const started = Date.now();
const env = {
  ...process.env,
  TESSERA_DATA_DIR: dataDir,
  ...(values.database ? { DATABASE_URL: values.database } : {}),
};
const config = loadConfig(env);
const { store, hasher } = await openStorage(config, env);
try {
  const now = Math.floor(Date.now() / 1000);
  const step = Math.max(1, Math.floor(count / spread));
  const chosen: Array<{ clientId: string; clientSecret: string }> = [];
  for (let start = 0; start < count; start += batch) {
    const clients: NewClient[] = [];
    for (let i = start; i < Math.min(count, start + batch); i += 1) {
      // In insertion order (a run prefix, then the index): every index grows at its end, so a
      // million inserts never page through the whole B-tree, which random UUIDs did (over
      // 8 minutes on a busy 2-core machine, against about one).
      const clientId = `${run}-${String(i).padStart(7, '0')}`;
      const clientSecret = generateClientSecret();
      clients.push(
        benchClient(clientId, `bench-${String(i).padStart(7, '0')}`, clientSecret, hasher, now),
      );
      if (i % step === 0 && chosen.length < spread) chosen.push({ clientId, clientSecret });
    }
    await store.importClients(clients);
  }
  writeFileSync(out, JSON.stringify(chosen));
  if (values['admin-out']) {
    const { client, clientSecret } = await new ClientRegistry(store, hasher).create({
      name: 'bench admin',
      scope: 'tessera:admin',
    });
    writeFileSync(values['admin-out'], JSON.stringify({ clientId: client.clientId, clientSecret }));
  }
  if (store.kind === 'postgres') {
    // Planner statistics for the new rows: autovacuum would gather them in a while (and this
    // machine's CI cluster runs with autovacuum off); without them the prefix searches plan
    // as if the table were empty.
    const client = new pg.Client({
      connectionString: config.database.replace(
        /([?&])schema=([^&]+)/,
        '$1options=-c%20search_path%3D$2',
      ),
    });
    await client.connect();
    try {
      await client.query('ANALYZE clients, client_secrets');
    } finally {
      await client.end();
    }
  }
  console.log(
    JSON.stringify({
      seeded: count,
      spread: chosen.length,
      store: store.kind,
      ms: Date.now() - started,
    }),
  );
} finally {
  await store.close();
}

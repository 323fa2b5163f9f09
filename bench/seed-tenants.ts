/**
 * Issue 21: seeds a Tessera data directory with many tenants for the `tessera-rs256-1000tenants`
 * scenario, through the server's own modules: each tenant with its own signing key (made as
 * the server makes a tenant's first key: `KeyRing.open` over the tenant's scoped store) and
 * one client of its own. The CLI would take one process per tenant and per client.
 *
 *   node --import tsx bench/seed-tenants.ts --data-dir DIR --count 1000 --spread 100 \
 *     --alg RS256 --out FILE
 *
 * Writes `[{ tenant, clientId, clientSecret }]` of `spread` tenants, evenly spaced across all
 * of them, to FILE.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { SigningAlgorithm } from '@tessera/protocol';
import { loadConfig } from '../packages/server/src/config.js';
import { KeyRing } from '../packages/server/src/keys/key-ring.js';
import { KeyStores } from '../packages/server/src/keys/key-stores.js';
import { openStorage } from '../packages/server/src/runtime.js';
import { generateClientSecret } from '../packages/server/src/secrets/client-secret.js';
import { newTenant } from '../packages/server/src/tenants/tenant-input.js';
import { benchClient } from './lib/bench-client.js';

const { values } = parseArgs({
  options: {
    'data-dir': { type: 'string' },
    count: { type: 'string', default: '1000' },
    spread: { type: 'string', default: '100' },
    alg: { type: 'string', default: 'RS256' },
    out: { type: 'string' },
  },
});
const dataDir = values['data-dir'];
const out = values.out;
if (!dataDir || !out)
  throw new Error(
    'usage: seed-tenants.ts --data-dir DIR --count N --spread M --alg ALG --out FILE',
  );
const count = Number(values.count);
const spread = Math.min(Number(values.spread), count);
const alg = values.alg as SigningAlgorithm;
/** Key generation runs in libuv's pool: a few at a time keep it busy. */
const parallel = 8;

const started = Date.now();
const env = { ...process.env, TESSERA_DATA_DIR: dataDir };
const config = loadConfig(env);
const { store, hasher, kek } = await openStorage(config, env);
try {
  const keyStores = new KeyStores(kek);
  const now = Math.floor(Date.now() / 1000);
  const step = Math.max(1, Math.floor(count / spread));
  const chosen: Array<{ tenant: string; clientId: string; clientSecret: string }> = [];
  const seedOne = async (i: number) => {
    const tenant = `t${String(i).padStart(4, '0')}`;
    await store.createTenant(newTenant(tenant, {}));
    const scoped = store.forTenant(tenant);
    await KeyRing.open(scoped, keyStores, alg, now);
    const clientId = `${tenant}-client`;
    const clientSecret = generateClientSecret();
    await scoped.importClients([
      benchClient(clientId, `bench ${tenant}`, clientSecret, hasher, now),
    ]);
    if (i % step === 0) chosen.push({ tenant, clientId, clientSecret });
  };
  for (let start = 0; start < count; start += parallel)
    await Promise.all(
      Array.from({ length: Math.min(parallel, count - start) }, (_, k) => seedOne(start + k)),
    );
  chosen.sort((a, b) => a.tenant.localeCompare(b.tenant));
  writeFileSync(out, JSON.stringify(chosen.slice(0, spread)));
  console.log(
    JSON.stringify({
      tenants: count,
      spread: Math.min(chosen.length, spread),
      alg,
      ms: Date.now() - started,
    }),
  );
} finally {
  await store.close();
}

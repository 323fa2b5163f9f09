/**
 * Issue 21: start-up time and memory of a server with N tenants (default 1,000) against one
 * with none, in the same run on fresh SQLite files. Tenants' contexts are built on first
 * use, so start-up reads the tenant rows once; the first request of a tenant loads it (and
 * creates its first signing key). Usage: node --expose-gc --import tsx scripts/tenant-startup.ts [N [LOADED]]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadConfig } from '../packages/server/src/config.js';
import { startServer } from '../packages/server/src/start.js';
import { SqliteStore } from '../packages/server/src/store/sqlite/sqlite-store.js';
import { newTenant } from '../packages/server/src/tenants/tenant-input.js';

const count = Number(process.argv[2] ?? 1000);
/** How many tenants to load after start-up (their first request each), for memory per tenant. */
const load = Number(process.argv[3] ?? 0);
const env = { TESSERA_KEK: Buffer.alloc(32, 7).toString('base64') };

async function measure(tenants: number) {
  const dataDir = await mkdtemp(join(tmpdir(), 'tessera-tenant-startup-'));
  try {
    const config = loadConfig(env, { logLevel: 'silent', port: 0, host: '127.0.0.1', dataDir });
    // The database as a deployment has it: migrated, the default key made, N tenant rows.
    const first = await startServer(config, { env });
    await first.close();
    const store = new SqliteStore(join(dataDir, 'tessera.db'));
    await store.migrate();
    for (let i = 0; i < tenants; i += 1) await store.createTenant(newTenant(`tenant-${i}`, {}));
    await store.close();
    global.gc?.();
    const heapBefore = process.memoryUsage().heapUsed;
    const started = performance.now();
    const server = await startServer(config, { env });
    const startMs = performance.now() - started;
    global.gc?.();
    const heapAfter = process.memoryUsage().heapUsed;
    let firstUseMs: number | undefined;
    if (tenants > 0) {
      const at = performance.now();
      const answer = await fetch(`${server.url}/t/tenant-0/.well-known/jwks.json`);
      if (answer.status !== 200) throw new Error(`tenant JWKS answered ${answer.status}`);
      firstUseMs = performance.now() - at;
    }
    let perLoadedKb: number | undefined;
    let loadMs: number | undefined;
    if (tenants > 0 && load > 0) {
      global.gc?.();
      const heapStart = process.memoryUsage().heapUsed;
      const at = performance.now();
      for (let i = 1; i <= load; i += 1) {
        const answer = await fetch(`${server.url}/t/tenant-${i}/.well-known/jwks.json`);
        if (answer.status !== 200) throw new Error(`tenant JWKS answered ${answer.status}`);
      }
      loadMs = (performance.now() - at) / load;
      global.gc?.();
      perLoadedKb = (process.memoryUsage().heapUsed - heapStart) / 1024 / load;
    }
    await server.close();
    return {
      tenants,
      startMs,
      heapDeltaMb: (heapAfter - heapBefore) / 2 ** 20,
      firstUseMs,
      perLoadedKb,
      loadMs,
    };
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}

const none = await measure(0);
const many = await measure(count);
const fmt = (n: number | undefined) => (n === undefined ? '-' : n.toFixed(1));
console.log(`tenants  start-up ms  heap growth at start MB  first request of a tenant ms`);
for (const row of [none, many])
  console.log(
    `${String(row.tenants).padStart(7)}  ${fmt(row.startMs).padStart(11)}  ${fmt(row.heapDeltaMb).padStart(23)}  ${fmt(row.firstUseMs).padStart(28)}`,
  );
if (many.perLoadedKb !== undefined)
  console.log(
    `${load} tenants loaded after start: ${fmt(many.perLoadedKb)} KB heap and ${fmt(many.loadMs)} ms (its first key made) each`,
  );
console.log(`start-up ratio ${count}/0 tenants: ${(many.startMs / none.startMs).toFixed(2)}`);

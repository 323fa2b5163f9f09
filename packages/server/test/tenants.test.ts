/**
 * Issue 21: tenants over real HTTP on loopback and real SQLite files: isolation (see
 * support/tenant-isolation.ts), the CLI's tenant changes seen by a running server, tenants
 * under `serve --workers 2`, and a database of version 10 migrating into the default tenant.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../src/config.js';
import { SqliteDriver } from '../src/store/sqlite/sqlite-driver.js';
import { newKek } from './support/instances.js';
import { cliPickupSuite } from './support/tenant-cli.js';
import { tenantIsolationSuite } from './support/tenant-isolation.js';
import { startTessera, type TestTessera } from './support/tessera.js';
import { tokenAt } from './support/tenants.js';

tenantIsolationSuite('SQLite', async () => ({ url: undefined, dispose: async () => {} }));

describe('--tenant-host', () => {
  it('refuses a malformed TESSERA_TENANT_HOSTS naming the option', () => {
    assert.throws(() => loadConfig({ TESSERA_TENANT_HOSTS: 'sandbox.example' }), /HOST=TENANT/);
    assert.throws(
      () => loadConfig({ TESSERA_TENANT_HOSTS: 'a.example=x,A.example=y' }),
      /mapped twice/,
    );
  });
});

const sqliteFile = async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tessera-tenants-'));
  return {
    url: `sqlite:${join(dir, 'tessera.db')}`,
    dispose: () => rm(dir, { recursive: true, force: true }),
  };
};
cliPickupSuite('SQLite; serve --workers 2 beside a second instance', sqliteFile);

describe('a database of version 10 migrates into the default tenant untouched', () => {
  let tessera: TestTessera | undefined;
  let dataDir: string;
  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tessera-v10-'));
  });
  after(async () => {
    await tessera?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('keeps every client, key and audit entry, and their credentials keep working', async () => {
    const env = { TESSERA_KEK: newKek() };
    tessera = await startTessera({ dataDir, env });
    const client = await tessera.createClient({ scope: 'read', tokenTtl: 300 });
    const store = tessera.server.context.store;
    const clientBefore = await store.getClient(client.clientId);
    const keysBefore = await store.listKeys();
    await store.appendAudit({
      at: 1,
      actor: 'cli:old',
      action: 'client.create',
      target: client.clientId,
      details: {},
    });
    await tessera.close();
    tessera = undefined;

    // Back to the schema of version 10 exactly: what a database of the previous release is.
    const driver = new SqliteDriver(join(dataDir, 'tessera.db'));
    await driver.transaction(async (tx) => {
      await tx.exec(`DROP INDEX clients_created;
        DROP INDEX signing_keys_tenant;
        DROP INDEX audit_log_tenant;
        DROP TABLE tenants;
        ALTER TABLE clients DROP COLUMN tenant;
        ALTER TABLE signing_keys DROP COLUMN tenant;
        ALTER TABLE revocations DROP COLUMN tenant;
        ALTER TABLE audit_log DROP COLUMN tenant;
        ALTER TABLE changes DROP COLUMN tenant;
        CREATE INDEX clients_created ON clients (created_at, client_id);
        DELETE FROM schema_migrations WHERE version = 11;`);
    });
    const columns = await driver.all<{ name: string }>(
      "SELECT name FROM pragma_table_info('clients')",
    );
    assert.ok(!columns.some((column) => column.name === 'tenant'));
    await driver.close();

    tessera = await startTessera({ dataDir, env });
    const migrated = tessera.server.context.store;
    assert.deepEqual(await migrated.getClient(client.clientId), clientBefore);
    assert.deepEqual(await migrated.listKeys(), keysBefore);
    assert.deepEqual(await migrated.listTenants(), []);
    assert.ok((await migrated.listAudit(10)).some((entry) => entry.target === client.clientId));
    const answer = await tokenAt(`${tessera.url}/oauth/token`, client);
    assert.equal(answer.status, 200, answer.text);
    assert.equal(answer.json.expires_in, 300);
  });
});

/**
 * Issue 21 over the real PostgreSQL: a tenant's own lockout limits and token hook
 * (support/tenant-settings.ts), and a tenant's failure counts shared by two instances through
 * PostgreSQL under keys of its own. Skips with a printed reason when no PostgreSQL answers;
 * fails instead under TESSERA_TEST_POSTGRES=require.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PostgresDeployment, workersListening } from './support/deployment.js';
import { startTesseraProcess, type TesseraProcess } from './support/instances.js';
import { postgresSkipReason } from './support/postgres.js';
import { createTestSchema } from './support/postgres-schema.js';
import { tokenFrom } from './support/source-address.js';
import { tenantSettingsSuite } from './support/tenant-settings.js';
import { cli } from './support/tenants.js';

const skip = await postgresSkipReason();

tenantSettingsSuite(
  'PostgreSQL',
  async () => {
    const created = await createTestSchema('tenantsettings');
    return { url: created.url, dispose: () => created.drop() };
  },
  skip,
);

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('a tenant’s failure counts across instances on one PostgreSQL', { skip }, () => {
  let deployment: PostgresDeployment;
  let a: TesseraProcess;
  let b: TesseraProcess;
  let tenantClient: { client_id: string; client_secret: string };
  let homeClient: { client_id: string; client_secret: string };

  before(async () => {
    deployment = await PostgresDeployment.create('tenant_shared');
    // The server's per-address limit equals the tenant's per-client one: were the shared
    // counts not the tenant's own, the tenant's failures would lock the address everywhere.
    const env = (name: string, workers: number) =>
      deployment.env(name, {
        TESSERA_WORKERS: String(workers),
        TESSERA_AUTH_MAX_FAILURES_PER_ADDRESS: '4',
      });
    [a, b] = await Promise.all([
      startTesseraProcess(deployment.schema.url, env('a', 2)),
      startTesseraProcess(deployment.schema.url, env('b', 1)),
    ]);
    await workersListening(a, 2);
    const run = async (...args: string[]) => {
      const result = await cli([...args, '--database', deployment.schema.url], {
        TESSERA_KEK: deployment.kek,
      });
      assert.equal(result.status, 0, result.stderr);
      return result.stdout;
    };
    await run(
      'tenants',
      'create',
      'shared',
      '--auth-max-failures-per-client',
      '4',
      '--auth-max-failures-per-address',
      '1000',
    );
    tenantClient = JSON.parse(
      await run('clients', 'create', '--name', 'shared app', '--tenant', 'shared', '--json'),
    ) as typeof tenantClient;
    homeClient = JSON.parse(
      await run('clients', 'create', '--name', 'home app', '--json'),
    ) as typeof homeClient;
  });
  after(() => deployment?.close(a, b));

  it('locks at B after failures at A and B by the tenant’s limit; the default tenant is not locked', async () => {
    const wrong = (instance: TesseraProcess) =>
      tokenFrom('127.0.0.2', `${instance.url}/t/shared`, tenantClient.client_id, 'guess');
    for (let i = 0; i < 2; i += 1) assert.equal((await wrong(a)).status, 401);
    // A's workers tell its primary, which counts in PostgreSQL: give that a moment.
    await pause(300);
    assert.equal((await wrong(b)).status, 401);
    assert.equal((await wrong(b)).status, 401, 'failure 4, two of them at A');
    const atB = await tokenFrom(
      '127.0.0.2',
      `${b.url}/t/shared`,
      tenantClient.client_id,
      tenantClient.client_secret,
    );
    assert.equal(atB.status, 429, 'B saw two failures only: the tenant’s count is shared');
    for (const instance of [a, b]) {
      const home = await tokenFrom(
        '127.0.0.2',
        instance.url,
        homeClient.client_id,
        homeClient.client_secret,
      );
      assert.equal(home.status, 200, 'the address is not locked at the default tenant');
    }
  });
});

/**
 * Issue 21 over the real PostgreSQL: tenant isolation over HTTP, and tenants created,
 * changed and deleted through the CLI seen within a second by two instances (one of them
 * with two workers) on the same database. Skips with a printed reason when no PostgreSQL
 * answers; fails instead under TESSERA_TEST_POSTGRES=require.
 */
import { postgresSkipReason } from './support/postgres.js';
import { createTestSchema } from './support/postgres-schema.js';
import { cliPickupSuite } from './support/tenant-cli.js';
import { tenantIsolationSuite } from './support/tenant-isolation.js';

const skip = await postgresSkipReason();

const schema = async () => {
  const created = await createTestSchema('tenants');
  return { url: created.url, dispose: () => created.drop() };
};

tenantIsolationSuite('PostgreSQL', schema, skip);
cliPickupSuite('PostgreSQL; two instances, one with serve --workers 2', schema, skip);

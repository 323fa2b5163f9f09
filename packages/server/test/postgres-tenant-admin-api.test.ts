/**
 * Issue 21 over the real PostgreSQL: the admin API of tenants (support/tenant-admin.ts).
 * Skips with a printed reason when no PostgreSQL answers; fails instead under
 * TESSERA_TEST_POSTGRES=require.
 */
import { postgresSkipReason } from './support/postgres.js';
import { createTestSchema } from './support/postgres-schema.js';
import { tenantAdminSuite } from './support/tenant-admin.js';

const skip = await postgresSkipReason();

tenantAdminSuite(
  'PostgreSQL',
  async () => {
    const created = await createTestSchema('tenantadmin');
    return { url: created.url, dispose: () => created.drop() };
  },
  skip,
);

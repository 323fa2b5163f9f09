/**
 * Issue 21 over the real PostgreSQL: a tenant's own lockout limits and token hook
 * (support/tenant-settings.ts). Skips with a printed reason when no PostgreSQL answers;
 * fails instead under TESSERA_TEST_POSTGRES=require.
 */
import { postgresSkipReason } from './support/postgres.js';
import { createTestSchema } from './support/postgres-schema.js';
import { tenantSettingsSuite } from './support/tenant-settings.js';

const skip = await postgresSkipReason();

tenantSettingsSuite(
  'PostgreSQL',
  async () => {
    const created = await createTestSchema('tenantsettings');
    return { url: created.url, dispose: () => created.drop() };
  },
  skip,
);

/**
 * Issue 21: the admin API of tenants over real HTTP on loopback and a real SQLite file
 * (support/tenant-admin.ts; postgres-tenant-admin-api.test.ts runs it on PostgreSQL).
 */
import { tenantAdminSuite } from './support/tenant-admin.js';

tenantAdminSuite('SQLite', async () => ({ url: undefined, dispose: async () => {} }));

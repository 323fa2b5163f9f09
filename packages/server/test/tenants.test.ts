/**
 * Issue 21: tenants over real HTTP on loopback and real SQLite files: isolation (see
 * support/tenant-isolation.ts), the CLI's tenant changes seen by a running server, tenants
 * under `serve --workers 2`, and a database of version 10 migrating into the default tenant.
 */
import { tenantIsolationSuite } from './support/tenant-isolation.js';

tenantIsolationSuite('SQLite', async () => ({ url: undefined, dispose: async () => {} }));

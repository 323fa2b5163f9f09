import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pg from 'pg';
import { postgresSkipReason, postgresUrl } from './support/postgres.js';

// The switch every PostgreSQL test uses: skip with a printed reason on a machine without
// PostgreSQL, fail under TESSERA_TEST_POSTGRES=require (what .ci/run sets).
describe('PostgreSQL test switch', async () => {
  const skip = await postgresSkipReason();
  it('reaches the configured PostgreSQL', { skip }, async () => {
    const client = new pg.Client({ connectionString: postgresUrl });
    await client.connect();
    try {
      const { rows } = await client.query<{ version: string }>('SELECT version()');
      assert.match(rows[0]!.version, /^PostgreSQL \d+/);
    } finally {
      await client.end();
    }
  });
});

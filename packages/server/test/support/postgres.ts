/**
 * PostgreSQL for tests. On a user's machine a test that needs PostgreSQL skips with a printed
 * reason when none answers; with TESSERA_TEST_POSTGRES=require (what .ci/run sets) the skip
 * becomes a failure, so CI can never pass by silently skipping.
 */
import pg from 'pg';

export const postgresUrl =
  process.env.TESSERA_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const postgresRequired = process.env.TESSERA_TEST_POSTGRES === 'require';

/** `undefined` when PostgreSQL answers; otherwise the reason to skip (or throws when required). */
export async function postgresSkipReason(): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: postgresUrl, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return undefined;
  } catch (error) {
    const reason = `PostgreSQL at ${postgresUrl} is not reachable (${(error as Error).message}); set TESSERA_TEST_DATABASE_URL or start it`;
    if (postgresRequired) throw new Error(`TESSERA_TEST_POSTGRES=require: ${reason}`);
    console.log(`# skipping: ${reason}`);
    return reason;
  } finally {
    await client.end().catch(() => {});
  }
}

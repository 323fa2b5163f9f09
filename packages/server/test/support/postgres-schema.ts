/**
 * A fresh PostgreSQL schema per test run, so test files running in parallel never share
 * tables, change feeds or advisory locks; dropped afterwards.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { postgresUrl } from './postgres.js';

export interface TestSchema {
  schema: string;
  /** `postgresUrl` with `?schema=…&application_name=…` for Tessera to use. */
  url: string;
  /** The application_name every connection of `url` carries (to find and kill them). */
  applicationName: string;
  /** Runs SQL as a separate administrative connection (not under `applicationName`). */
  admin<T extends pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<T[]>;
  drop(): Promise<void>;
}

export async function createTestSchema(label: string): Promise<TestSchema> {
  const schema = `tessera_${label}_${process.pid}_${randomBytes(4).toString('hex')}`;
  const applicationName = `${schema}_app`;
  const url = new URL(postgresUrl);
  url.searchParams.set('schema', schema);
  url.searchParams.set('application_name', applicationName);
  const admin = async <T extends pg.QueryResultRow>(sql: string, params: unknown[] = []) => {
    const client = new pg.Client({
      connectionString: postgresUrl,
      application_name: 'tessera-test-admin',
    });
    await client.connect();
    try {
      return (await client.query<T>(sql, params)).rows;
    } finally {
      await client.end();
    }
  };
  return {
    schema,
    url: url.toString(),
    applicationName,
    admin,
    async drop() {
      await admin(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    },
  };
}

/** Terminates every server connection opened under `applicationName`; returns how many. */
export async function terminateBackends(testSchema: TestSchema): Promise<number> {
  const rows = await testSchema.admin<{ terminated: boolean }>(
    `SELECT pg_terminate_backend(pid) AS terminated FROM pg_stat_activity
      WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name = $1`,
    [testSchema.applicationName],
  );
  return rows.filter((row) => row.terminated).length;
}

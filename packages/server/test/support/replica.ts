/**
 * The streaming replica for the read-replica test: a second PostgreSQL cluster on this machine
 * replicating the test database's cluster (`.ci/replica-up` makes it on port 5433). A test
 * that needs it skips with a printed reason when none answers; TESSERA_TEST_REPLICA=require
 * (what .ci/run sets) makes that a failure.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import pg from 'pg';
import { postgresUrl } from './postgres.js';

const run = promisify(execFile);

export const replicaUrl =
  process.env.TESSERA_TEST_REPLICA_URL ??
  (() => {
    const url = new URL(postgresUrl);
    url.port = '5433';
    return url.toString();
  })();
export const replicaRequired = process.env.TESSERA_TEST_REPLICA === 'require';

async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end().catch(() => {});
  }
}

/** `undefined` when a streaming replica answers at {@link replicaUrl}; else why to skip. */
export async function replicaSkipReason(): Promise<string | undefined> {
  let reason: string | undefined;
  try {
    const [row] = await query<{ standby: boolean }>(
      replicaUrl,
      'SELECT pg_is_in_recovery() AS standby',
    );
    if (!row?.standby) reason = `${replicaUrl} answers but is not a standby`;
  } catch (error) {
    reason = `no PostgreSQL replica at ${replicaUrl} (${(error as Error).message}); run .ci/replica-up or set TESSERA_TEST_REPLICA_URL`;
  }
  if (reason === undefined) return undefined;
  if (replicaRequired) throw new Error(`TESSERA_TEST_REPLICA=require: ${reason}`);
  console.log(`# skipping: ${reason}`);
  return reason;
}

/** The replica's lag right now (s), as Tessera computes it: 0 when it has replayed all it got. */
export async function replicaLagSeconds(): Promise<number> {
  const [row] = await query<{ lag: number }>(
    replicaUrl,
    `SELECT CASE WHEN pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() THEN 0
      ELSE EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()) END::float8 AS lag`,
  );
  return row?.lag ?? 0;
}

/** The local cluster serving the replica's port (`pg_lsclusters`), to stop and start it. */
export interface ReplicaCluster {
  stop(): Promise<void>;
  start(): Promise<void>;
}

export async function replicaCluster(): Promise<ReplicaCluster | undefined> {
  const port = new URL(replicaUrl).port || '5432';
  let listing: string;
  try {
    listing = (await run('pg_lsclusters', ['-h'])).stdout;
  } catch {
    return undefined;
  }
  const row = listing
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .find((fields) => fields[2] === port);
  if (!row) return undefined;
  const [version, name] = row as [string, string];
  return {
    stop: async () => void (await run('pg_ctlcluster', [version, name, 'stop', '-m', 'fast'])),
    start: async () => {
      await run('pg_ctlcluster', [version, name, 'start']).catch((error: { stderr?: string }) => {
        if (!/already running/.test(error.stderr ?? '')) throw error;
      });
    },
  };
}

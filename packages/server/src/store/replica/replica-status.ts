import type { SqlDriver } from '../sql-driver.js';

/** What a replica says about itself, read in one statement by {@link readReplicaStatus}. */
export interface ReplicaStatus {
  /** The newest change row the replica has replayed (0 when none): the feed position. */
  seq: number;
  /**
   * Seconds behind the primary: 0 when everything received is replayed (or the "replica" is a
   * primary itself); otherwise the age of the last replayed transaction.
   */
  lagSeconds: number;
  /** The WAL position replayed so far (`pg_last_wal_replay_lsn()`). */
  lsn: string;
  /**
   * Whether the WAL receiver streams from the primary right now; null when this role may not
   * see it (pg_stat_wal_receiver is for superusers and pg_read_all_stats) or on a primary.
   */
  streaming: boolean | null;
}

/**
 * The standard lag formula: "everything received is replayed" means caught up (an idle
 * primary sends nothing, and `now() - pg_last_xact_replay_timestamp()` would grow without
 * any lag); otherwise the replay timestamp's age. A replica cut off from its primary receives
 * nothing either, so `streaming` says whether "0" can be trusted.
 */
const statusSql = `SELECT
    (SELECT MAX(seq) FROM changes) AS seq,
    CASE WHEN NOT pg_is_in_recovery() THEN 0
         WHEN pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() THEN 0
         ELSE GREATEST(0, EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()))
    END::float8 AS lag,
    (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END)::text AS lsn,
    CASE WHEN pg_is_in_recovery()
         THEN (SELECT status = 'streaming' FROM pg_stat_wal_receiver LIMIT 1)
    END AS streaming`;

export async function readReplicaStatus(driver: SqlDriver): Promise<ReplicaStatus> {
  const rows = await driver.all<{
    seq: number | null;
    lag: number | null;
    lsn: string | null;
    streaming: boolean | null;
  }>(statusSql);
  const row = rows[0]!;
  return {
    seq: row.seq ?? 0,
    lagSeconds: row.lag ?? 0,
    lsn: row.lsn ?? '0/0',
    streaming: row.streaming ?? null,
  };
}

/** The primary's current WAL position: a replica that replayed it has every commit made so far. */
export async function primaryLsn(driver: SqlDriver): Promise<string> {
  const rows = await driver.all<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
  return rows[0]!.lsn;
}

/** Where the replica's replay is (works before the schema exists: migrations wait on it). */
export async function replayedLsn(driver: SqlDriver): Promise<string> {
  const rows = await driver.all<{ lsn: string | null }>(
    'SELECT (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END)::text AS lsn',
  );
  return rows[0]?.lsn ?? '0/0';
}

/** `X/Y` (two hex halves) as one number, so positions compare. */
export function lsnValue(lsn: string): bigint {
  const [high = '0', low = '0'] = lsn.split('/');
  return (BigInt(`0x${high}`) << 32n) + BigInt(`0x${low}`);
}

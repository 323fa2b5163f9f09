import type { ReplayOutcome } from '@tessera/protocol';
import pg from 'pg';
import { postgresConnection } from '../store/postgres/connection.js';
import { epochSeconds, HashedSharedState, type CounterWindow } from './shared-state.js';

/**
 * Shared state in the deployment's PostgreSQL, so every instance on that database counts and
 * remembers together. The two tables (`shared_once`, `shared_counters`, migration 3) are
 * UNLOGGED: no WAL, so a write costs little, at the price of being emptied after a
 * PostgreSQL crash and not reaching replicas (a crash forgets recent failure counts and jtis
 * that expire within minutes anyway). Its own small pool, so the store's pool and the token
 * path never wait behind it, and so the primary of `serve --workers N` can use it without
 * opening a store.
 */
export class PostgresSharedState extends HashedSharedState {
  readonly kind = 'postgres';
  readonly #pool: pg.Pool;

  constructor(url: string, nowSeconds: () => number = epochSeconds) {
    super(nowSeconds);
    this.#pool = new pg.Pool({ ...postgresConnection(url).config, max: 4 });
    // An idle client's error (the server restarted) must not crash the process.
    this.#pool.on('error', () => {});
  }

  protected async claimHashed(id: string, expiresAt: number): Promise<ReplayOutcome> {
    // A row left by an expired key not pruned yet is taken over, as a cache forgets it.
    const result = await this.#pool.query(
      `INSERT INTO shared_once (key, expires_at) VALUES ($1, $2)
       ON CONFLICT (key) DO UPDATE SET expires_at = EXCLUDED.expires_at
       WHERE shared_once.expires_at < $3`,
      [id, expiresAt, this.nowSeconds()],
    );
    return result.rowCount === 1 ? 'fresh' : 'replayed';
  }

  protected async addToCounter({ id, start, end }: CounterWindow, by: number): Promise<number> {
    const result = await this.#pool.query<{ count: number }>(
      `INSERT INTO shared_counters (key, window_start, count, expires_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (key, window_start) DO UPDATE SET count = shared_counters.count + EXCLUDED.count
       RETURNING count`,
      [id, start, by, end],
    );
    return result.rows[0]!.count;
  }

  protected async readCounter({ id, start }: CounterWindow): Promise<number> {
    const result = await this.#pool.query<{ count: number }>(
      'SELECT count FROM shared_counters WHERE key = $1 AND window_start = $2',
      [id, start],
    );
    return result.rows[0]?.count ?? 0;
  }

  protected async deleteCounter({ id }: CounterWindow): Promise<void> {
    await this.#pool.query('DELETE FROM shared_counters WHERE key = $1', [id]);
  }

  override async prune(): Promise<void> {
    const now = this.nowSeconds();
    await this.#pool.query('DELETE FROM shared_once WHERE expires_at < $1', [now]);
    await this.#pool.query('DELETE FROM shared_counters WHERE expires_at < $1', [now]);
  }

  close(): Promise<void> {
    return this.#pool.end();
  }
}

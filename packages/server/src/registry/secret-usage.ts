import type { Store } from '../store/contract.js';

/**
 * Remembers when each secret was last used and writes it out in batches: the token hot path
 * stays free of database writes, and `clients show` still reports last use (to within the
 * flush interval).
 */
export class SecretUsage {
  /**
   * Pending uses by client_id, then secret id. Two levels instead of one joined key, so a
   * repeated use updates its entry in place: building a key string and a new entry on every
   * token request was garbage that outlived the young generation (with 10,000 clients in use
   * every entry waits up to the flush interval) and slowed every scavenge.
   */
  readonly #pending = new Map<string, Map<string, Use>>();
  #size = 0;

  constructor(private readonly store: Store) {}

  record(clientId: string, secretId: string, at: number): void {
    let secrets = this.#pending.get(clientId);
    if (secrets === undefined) {
      secrets = new Map();
      this.#pending.set(clientId, secrets);
    }
    const use = secrets.get(secretId);
    if (use === undefined) {
      secrets.set(secretId, { clientId, secretId, at });
      this.#size += 1;
    } else {
      use.at = at;
    }
  }

  /** Uses recorded since the last flush (one per client and secret). */
  get size(): number {
    return this.#size;
  }

  /**
   * Writes pending uses in batches, yielding to the event loop between them: with thousands
   * of active clients one big synchronous SQLite transaction would stall token requests.
   */
  async flush(): Promise<void> {
    if (this.#size === 0) return;
    const uses: Use[] = [];
    for (const secrets of this.#pending.values())
      for (const use of secrets.values()) uses.push(use);
    this.#pending.clear();
    this.#size = 0;
    for (let start = 0; start < uses.length; start += flushBatch) {
      if (start > 0) await new Promise((resolve) => setImmediate(resolve));
      await this.store.recordSecretUse(uses.slice(start, start + flushBatch));
    }
  }
}

/**
 * Rows per transaction. Where a batch runs on the event loop (SQLite without its writer
 * thread), under the 10,000-client bench batches of 500 took 3-27 ms each (the first flush,
 * which grows the WAL, the slowest) and batches of 100 about 1-3 ms; on the writer thread a
 * smaller batch also holds the write lock for less time.
 */
const flushBatch = 100;

interface Use {
  clientId: string;
  secretId: string;
  at: number;
}

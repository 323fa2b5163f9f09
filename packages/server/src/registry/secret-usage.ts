import type { Store } from '../store/contract.js';

/**
 * Remembers when each secret was last used and writes it out in batches: the token hot path
 * stays free of database writes, and `clients show` still reports last use, to within
 * `resolutionSeconds` plus the flush interval. A last-use time answers "is this secret still
 * in use?" (before retiring it after a rotation), for which a minute is precise enough, and
 * writing every active secret at every flush was most of the cost of serving 10,000 active
 * clients: a secret's use is written when this process first sees it and then at most once
 * per `resolutionSeconds`.
 */
export class SecretUsage {
  /**
   * Recently used secrets by client_id, then secret id. Two levels instead of one joined key,
   * so a repeated use updates its entry in place instead of building a key string and an
   * entry per token request. Entries idle for longer than the resolution are dropped at flush.
   */
  readonly #uses = new Map<string, Map<string, Use>>();
  #pending = 0;
  readonly #resolutionSeconds: number;
  readonly #nowSeconds: () => number;

  constructor(
    private readonly store: Store,
    options: { resolutionSeconds?: number; nowSeconds?: () => number } = {},
  ) {
    this.#resolutionSeconds = options.resolutionSeconds ?? 60;
    this.#nowSeconds = options.nowSeconds ?? (() => Math.floor(Date.now() / 1000));
  }

  record(clientId: string, secretId: string, at: number): void {
    let secrets = this.#uses.get(clientId);
    if (secrets === undefined) {
      secrets = new Map();
      this.#uses.set(clientId, secrets);
    }
    const use = secrets.get(secretId);
    if (use === undefined) {
      secrets.set(secretId, { clientId, secretId, at, writtenAt: -Infinity, pending: true });
      this.#pending += 1;
      return;
    }
    if (at > use.at) use.at = at;
    if (!use.pending && use.at - use.writtenAt >= this.#resolutionSeconds) {
      use.pending = true;
      this.#pending += 1;
    }
  }

  /** Secrets remembered in memory (recently used ones). */
  get tracked(): number {
    let count = 0;
    for (const secrets of this.#uses.values()) count += secrets.size;
    return count;
  }

  /** Uses waiting for the next flush (at most one per client and secret). */
  get size(): number {
    return this.#pending;
  }

  /**
   * Writes pending uses in batches, yielding to the event loop between them: with thousands
   * of active clients one big synchronous SQLite transaction would stall token requests.
   */
  async flush(): Promise<void> {
    const now = this.#nowSeconds();
    const due: Use[] = [];
    const writes: Array<{ clientId: string; secretId: string; at: number }> = [];
    for (const [clientId, secrets] of this.#uses) {
      for (const [secretId, use] of secrets) {
        if (use.pending) {
          use.pending = false;
          due.push(use);
          writes.push({ clientId, secretId, at: use.at });
        } else if (now - use.at > this.#resolutionSeconds) {
          // Unused for longer than the resolution: its next use is due for writing anyway,
          // so it need not be remembered.
          secrets.delete(secretId);
        }
      }
      if (secrets.size === 0) this.#uses.delete(clientId);
    }
    this.#pending = 0;
    for (let start = 0; start < writes.length; start += flushBatch) {
      if (start > 0) await new Promise((resolve) => setImmediate(resolve));
      const batch = writes.slice(start, start + flushBatch);
      try {
        await this.store.recordSecretUse(batch);
      } catch (error) {
        // Not written: due again at the next flush (the store may be briefly unavailable).
        for (const use of due.slice(start)) this.#retry(use);
        throw error;
      }
      for (let i = start; i < start + batch.length; i += 1)
        due[i]!.writtenAt = batch[i - start]!.at;
    }
  }

  #retry(use: Use): void {
    const secrets = this.#uses.get(use.clientId) ?? new Map<string, Use>();
    this.#uses.set(use.clientId, secrets);
    secrets.set(use.secretId, use);
    if (!use.pending) {
      use.pending = true;
      this.#pending += 1;
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
  /** The latest use seen. */
  at: number;
  /** The use last written to the store (-Infinity before the first write). */
  writtenAt: number;
  /** Due at the next flush. */
  pending: boolean;
}

import type { Store } from '../store/contract.js';

/**
 * Remembers when each secret was last used and writes it out in batches: the token hot path
 * stays free of database writes, and `clients show` still reports last use (to within the
 * flush interval).
 */
export class SecretUsage {
  readonly #pending = new Map<string, { clientId: string; secretId: string; at: number }>();

  constructor(private readonly store: Store) {}

  record(clientId: string, secretId: string, at: number): void {
    this.#pending.set(`${clientId}\u0000${secretId}`, { clientId, secretId, at });
  }

  /**
   * Writes pending uses in batches, yielding to the event loop between them: with thousands
   * of active clients one big synchronous SQLite transaction would stall token requests.
   */
  async flush(): Promise<void> {
    if (this.#pending.size === 0) return;
    const uses = [...this.#pending.values()];
    this.#pending.clear();
    for (let start = 0; start < uses.length; start += flushBatch) {
      if (start > 0) await new Promise((resolve) => setImmediate(resolve));
      await this.store.recordSecretUse(uses.slice(start, start + flushBatch));
    }
  }
}

const flushBatch = 500;

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

  async flush(): Promise<void> {
    if (this.#pending.size === 0) return;
    const uses = [...this.#pending.values()];
    this.#pending.clear();
    await this.store.recordSecretUse(uses);
  }
}

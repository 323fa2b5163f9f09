export type ReplayOutcome = 'fresh' | 'replayed' | 'full';

/** Something that can tell a one-time identifier's first use from a replay. */
export interface ReplayGuard {
  /** Records `key` as used until `expiresAt` (epoch seconds); see {@link ReplayCache.use}. */
  use(key: string, expiresAt: number): ReplayOutcome | Promise<ReplayOutcome>;
}

/**
 * Remembers one-time identifiers (`jti` of client assertions and DPoP proofs) until they
 * expire, so a second use is refused. Bounded: expired entries are dropped first; when the
 * cache is full of live entries it refuses new ones (fail closed) rather than forgetting a
 * live identifier, which would let it be replayed.
 */
export class ReplayCache implements ReplayGuard {
  readonly #entries = new Map<string, number>();

  constructor(
    readonly capacity: number,
    private readonly nowSeconds: () => number,
  ) {}

  /**
   * Records `key` as used until `expiresAt` (epoch seconds). Returns `'fresh'` the first time,
   * `'replayed'` when the key is still remembered, `'full'` when there is no room.
   */
  use(key: string, expiresAt: number): ReplayOutcome {
    const now = this.nowSeconds();
    const known = this.#entries.get(key);
    if (known !== undefined && known >= now) return 'replayed';
    this.#entries.delete(key);
    // Insertion order roughly follows expiry, so expired entries gather at the front.
    for (const [oldest, until] of this.#entries) {
      if (until >= now) break;
      this.#entries.delete(oldest);
    }
    if (this.#entries.size >= this.capacity) return 'full';
    this.#entries.set(key, expiresAt);
    return 'fresh';
  }

  get size(): number {
    return this.#entries.size;
  }
}

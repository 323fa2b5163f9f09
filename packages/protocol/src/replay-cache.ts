/** What {@link ReplayGuard.use} says about a one-time identifier. */
export type ReplayOutcome = 'fresh' | 'replayed' | 'full';

/** Something that can tell a one-time identifier's first use from a replay. */
export interface ReplayGuard {
  /** Records `key` as used until `expiresAt`; see {@link ReplayCache.use}. */
  use(key: string, expiresAt: number): ReplayOutcome | Promise<ReplayOutcome>;
}

/**
 * Remembers one-time identifiers (`jti` of client assertions and DPoP proofs, RFC 7523 §3 and
 * RFC 9449 §11.1) until they expire, so a second use is refused. Bounded: expired entries are
 * dropped first; when the cache is full of live entries it refuses new ones (fail closed)
 * rather than forget a live identifier, which would let it be replayed.
 *
 * Time is whatever `now` returns (seconds on the server, milliseconds in the verifier);
 * `expiresAt` is in the same unit.
 *
 * @example
 * ```ts
 * const seen = new ReplayCache(100_000, () => Math.floor(Date.now() / 1000));
 * if (seen.use(`${jkt}:${jti}`, iat + 360) !== 'fresh') refuse();
 * ```
 */
export class ReplayCache implements ReplayGuard {
  readonly #entries = new Map<string, number>();

  constructor(
    readonly capacity: number,
    private readonly now: () => number,
  ) {}

  /**
   * Records `key` as used until `expiresAt`. Returns `'fresh'` the first time, `'replayed'`
   * when the key is still remembered, `'full'` when there is no room.
   */
  use(key: string, expiresAt: number): ReplayOutcome {
    const now = this.now();
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

  clear(): void {
    this.#entries.clear();
  }
}

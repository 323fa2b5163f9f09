/**
 * One-time identifiers (DPoP proof `jti`s) remembered until they expire (epoch ms). Bounded;
 * when full of live entries it refuses new ones rather than forget one, which would let a
 * captured proof be replayed.
 */
export class ReplayGuard {
  readonly #seen = new Map<string, number>();

  constructor(readonly capacity: number) {}

  use(key: string, expiresAtMs: number, nowMs: number): 'fresh' | 'replayed' | 'full' {
    const known = this.#seen.get(key);
    if (known !== undefined && known >= nowMs) return 'replayed';
    this.#seen.delete(key);
    for (const [oldest, until] of this.#seen) {
      if (until >= nowMs) break;
      this.#seen.delete(oldest);
    }
    if (this.#seen.size >= this.capacity) return 'full';
    this.#seen.set(key, expiresAtMs);
    return 'fresh';
  }

  clear(): void {
    this.#seen.clear();
  }
}

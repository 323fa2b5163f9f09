/**
 * Revoked token identifiers, each kept until its token's `exp` (plus the clock tolerance)
 * has passed — after that the token is rejected as expired anyway.
 */
export class RevokedSet {
  readonly #expiries = new Map<string, number>();

  get size(): number {
    return this.#expiries.size;
  }

  /** Records a revocation; `exp` is in seconds since the epoch. */
  add(jti: string, exp: number): void {
    const known = this.#expiries.get(jti);
    if (known === undefined || exp > known) this.#expiries.set(jti, exp);
  }

  has(jti: string): boolean {
    return this.#expiries.has(jti);
  }

  /** Forgets revocations whose tokens expired before `nowSeconds - tolerance`. */
  prune(nowSeconds: number, tolerance: number): void {
    for (const [jti, exp] of this.#expiries)
      if (exp <= nowSeconds - tolerance) this.#expiries.delete(jti);
  }
}

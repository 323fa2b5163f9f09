import type { SequencedRevocation } from '../store/contract.js';

export interface RevokedToken {
  jti: string;
  /** The token's `exp`: after it the entry is useless and dropped. */
  exp: number;
  clientId: string;
  seq: number;
}

/**
 * Revoked token ids in memory, ordered by change sequence: introspection checks it per call
 * and the revocation feed answers `since=cursor` from it without touching the store.
 */
export class RevocationList {
  readonly #byJti = new Map<string, RevokedToken>();
  /** Highest change sequence applied: the feed's cursor. */
  cursor = 0;

  apply(revocations: readonly SequencedRevocation[]): void {
    for (const revocation of revocations) {
      this.add({
        jti: revocation.jti,
        exp: revocation.expiresAt,
        clientId: revocation.clientId,
        seq: revocation.seq,
      });
    }
  }

  add(entry: RevokedToken): void {
    const existing = this.#byJti.get(entry.jti);
    if (!existing || existing.seq < entry.seq) this.#byJti.set(entry.jti, entry);
    if (entry.seq > this.cursor) this.cursor = entry.seq;
  }

  has(jti: string): boolean {
    return this.#byJti.has(jti);
  }

  /** Entries recorded after `cursor`, oldest first, skipping tokens expired by `now`. */
  since(cursor: number, now: number): RevokedToken[] {
    const entries: RevokedToken[] = [];
    for (const entry of this.#byJti.values())
      if (entry.seq > cursor && entry.exp >= now) entries.push(entry);
    return entries.sort((a, b) => a.seq - b.seq);
  }

  /** Forgets entries whose token has expired: a verifier rejects those on `exp` alone. */
  prune(now: number): void {
    for (const [jti, entry] of this.#byJti) if (entry.exp < now) this.#byJti.delete(jti);
  }

  get size(): number {
    return this.#byJti.size;
  }
}

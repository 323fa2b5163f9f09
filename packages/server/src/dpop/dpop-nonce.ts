import { createHmac, timingSafeEqual } from 'node:crypto';
import { OAuthError } from '@tessera/protocol';

/** A nonce is issued for a window of this many seconds and accepted in that and the next one. */
export const dpopNonceWindowSeconds = 60;

/**
 * RFC 9449 §8 server nonces, without state: the nonce of a time window is
 * `<window>.<HMAC-SHA-256(key, window)>` under a key derived from the key-encryption key, so
 * every worker and every instance that shares the KEK (as they must, to open the sealed
 * signing keys) issues and accepts the same nonces with no write and no round trip per
 * request. Nonces rotate every {@link dpopNonceWindowSeconds}; one stays valid for one to two
 * windows. Replay of the proof itself is still refused by its `jti` (shared state).
 */
export class DpopNonces {
  constructor(
    /** Derived keys, issuing key first (the others: a KEK rotation in progress). */
    private readonly keys: readonly Buffer[],
    private readonly nowSeconds: () => number,
    private readonly windowSeconds = dpopNonceWindowSeconds,
  ) {
    if (keys.length === 0) throw new Error('DPoP nonces need a key');
  }

  /** The nonce to hand out now (`DPoP-Nonce` header). */
  current(): string {
    return this.#nonce(this.keys[0]!, this.#window());
  }

  /** Whether `nonce` was issued in this window or the previous one. */
  valid(nonce: unknown): boolean {
    if (typeof nonce !== 'string' || nonce.length > 64) return false;
    const dot = nonce.indexOf('.');
    const window = Number.parseInt(nonce.slice(0, dot), 36);
    const now = this.#window();
    if (dot < 1 || !(window === now || window === now - 1)) return false;
    const given = Buffer.from(nonce);
    return this.keys.some((key) => {
      const expected = Buffer.from(this.#nonce(key, window));
      return expected.length === given.length && timingSafeEqual(expected, given);
    });
  }

  /** RFC 9449 §8: the error that asks the client to sign again with the nonce. */
  challenge(detail: string): OAuthError {
    return new OAuthError('use_dpop_nonce', 'Authorization server requires nonce in DPoP proof', {
      headers: { 'dpop-nonce': this.current() },
      detail,
    });
  }

  #window(): number {
    return Math.floor(this.nowSeconds() / this.windowSeconds);
  }

  #nonce(key: Buffer, window: number): string {
    const mac = createHmac('sha256', key).update(`dpop-nonce:${window}`).digest('base64url');
    return `${window.toString(36)}.${mac.slice(0, 32)}`;
  }
}

import type { AccessTokenClaims } from '@tessera/protocol';
import { LruMap } from '../lib/lru.js';

/** A token this process signed and may answer again. */
interface Issued {
  accessToken: string;
  jti: string;
  iat: number;
  exp: number;
  /** The client's record version it was issued under: any change means a new token. */
  clientUpdatedAt: number;
}

/**
 * Reuse of a still-fresh token (issue 22, `--reuse-tokens`): per process, in a bounded LRU,
 * no database. A request for the same client, scope, audience, token type and sender binding
 * (the DPoP key's `jkt`, the certificate's `x5t#S256`) while the last token has at least half
 * its lifetime left is answered that token with the remaining `expires_in`. Half, not "until
 * expiry": a server that hands the same token back until it expires makes every client that
 * refreshes a little early (at 90 % of the lifetime, say) receive a token about to expire,
 * refresh again at once, and loop (wso2 api-manager#773). With the half-life rule a reused
 * token always has at least half its lifetime left, so a client refreshing anywhere before
 * that point is given a token it will not want to refresh again immediately.
 */
export class TokenReuse {
  readonly #issued: LruMap<string, Issued>;

  constructor(capacity = 10_000) {
    this.#issued = new LruMap(capacity);
  }

  /** The cache key of a request; the binding's thumbprints are parts of it. */
  static key(clientId: string, claims: AccessTokenClaims, tokenType: string): string {
    const aud = Array.isArray(claims.aud) ? claims.aud.join(' ') : (claims.aud ?? '');
    const cnf = claims.cnf;
    return `${clientId}\u0000${claims.scope ?? ''}\u0000${aud}\u0000${tokenType}\u0000${cnf?.jkt ?? ''}\u0000${cnf?.['x5t#S256'] ?? ''}`;
  }

  /**
   * The token to answer again with its remaining lifetime, or undefined (none, less than
   * half its lifetime left, revoked, or issued under an older version of the client).
   */
  find(
    key: string,
    now: number,
    clientUpdatedAt: number,
    isRevoked: (jti: string) => boolean,
  ): { accessToken: string; expiresIn: number } | undefined {
    const issued = this.#issued.get(key);
    if (issued === undefined) return undefined;
    const remaining = issued.exp - now;
    if (
      remaining * 2 < issued.exp - issued.iat ||
      issued.clientUpdatedAt !== clientUpdatedAt ||
      isRevoked(issued.jti)
    ) {
      this.#issued.delete(key);
      return undefined;
    }
    return { accessToken: issued.accessToken, expiresIn: remaining };
  }

  remember(
    key: string,
    accessToken: string,
    claims: AccessTokenClaims,
    clientUpdatedAt: number,
  ): void {
    this.#issued.set(key, {
      accessToken,
      jti: claims.jti,
      iat: claims.iat,
      exp: claims.exp,
      clientUpdatedAt,
    });
  }

  get size(): number {
    return this.#issued.size;
  }
}

import { accessTokenType, signingAlgorithms, type AccessTokenClaims } from '@tessera/protocol';
import { createLocalJWKSet, errors, jwtVerify, type JSONWebKeySet } from 'jose';
import type { KeyRing } from '../keys/key-ring.js';
import type { ClientCache } from '../registry/client-cache.js';
import type { RevocationList } from '../revocation/revocation-list.js';

export type Inspection =
  | { active: true; claims: AccessTokenClaims }
  | {
      active: false;
      reason: 'malformed' | 'signature' | 'expired' | 'revoked' | 'client' | 'claims';
      claims?: AccessTokenClaims;
    };

/**
 * Checks a token Tessera issued, against the current keys, clock, revocations and client
 * registry. Used by introspection, revocation and the admin API (which accepts only
 * Tessera's own tokens).
 */
export class TokenInspector {
  #jwksSource: unknown;
  #jwks: ReturnType<typeof createLocalJWKSet> | undefined;

  constructor(
    private readonly keys: KeyRing,
    private readonly clients: ClientCache,
    private readonly revocations: RevocationList,
    private readonly issuer: () => string,
    private readonly nowSeconds: () => number,
  ) {}

  /** Signature, `typ`, `iss` and lifetime only: who the token belongs to, even if revoked. */
  async verifySignature(token: string): Promise<Inspection> {
    try {
      const { payload } = await jwtVerify(token, this.#keySet(), {
        issuer: this.issuer(),
        typ: accessTokenType,
        algorithms: [...signingAlgorithms],
        currentDate: new Date(this.nowSeconds() * 1000),
        requiredClaims: ['exp', 'iat', 'jti', 'sub', 'client_id'],
      });
      return { active: true, claims: payload as unknown as AccessTokenClaims };
    } catch (error) {
      if (error instanceof errors.JWTExpired) return { active: false, reason: 'expired' };
      if (
        error instanceof errors.JWSSignatureVerificationFailed ||
        error instanceof errors.JWKSNoMatchingKey
      ) {
        return { active: false, reason: 'signature' };
      }
      if (error instanceof errors.JWTClaimValidationFailed)
        return { active: false, reason: 'claims' };
      return { active: false, reason: 'malformed' };
    }
  }

  /** Everything: also revocation and whether the client still exists and is enabled. */
  async inspect(token: string): Promise<Inspection> {
    const verified = await this.verifySignature(token);
    if (!verified.active) return verified;
    const { claims } = verified;
    if (this.revocations.has(claims.jti)) return { active: false, reason: 'revoked', claims };
    const client = await this.clients.get(claims.client_id);
    if (!client || client.status !== 'active') return { active: false, reason: 'client', claims };
    return verified;
  }

  #keySet() {
    const jwks = this.keys.jwks;
    if (this.#jwksSource !== jwks || !this.#jwks) {
      this.#jwksSource = jwks;
      this.#jwks = createLocalJWKSet(jwks as JSONWebKeySet);
    }
    return this.#jwks;
  }
}

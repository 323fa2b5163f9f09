import {
  dpopClaimsProblem,
  dpopProofType,
  dpopReplayEntry,
  dpopSigningAlgorithms,
  fromBase64,
  isPublicJwk,
  ReplayCache,
  type ReplayGuard,
  sha256Base64url,
} from '@tessera/protocol';
import {
  calculateJwkThumbprint,
  decodeProtectedHeader,
  EmbeddedJWK,
  jwtVerify,
  type JWK,
} from 'jose';
import type { AccessTokenPayload } from './access-token.js';
import { VerifierError } from './errors.js';

/** Algorithms accepted for DPoP proofs (asymmetric only): RFC 9449 §5.1's, from the protocol package. */
export const dpopAlgorithms = dpopSigningAlgorithms as readonly [
  'RS256',
  'PS256',
  'ES256',
  'EdDSA',
];

/** What a request shows about its sender, for tokens carrying `cnf` (RFC 7800). */
export interface SenderEvidence {
  /**
   * The TLS client certificate of the connection (DER bytes, or PEM), for `cnf.x5t#S256`
   * tokens (RFC 8705 §3). Behind a TLS-terminating proxy, pass the certificate it forwards,
   * and only from that proxy.
   */
  clientCertificate?: Uint8Array | string | undefined;
  /** For DPoP-bound tokens (RFC 9449 §7): the request method, absolute URL and `DPoP` header. */
  dpop?:
    | {
        method: string;
        url: string;
        proof: string | readonly string[] | null | undefined;
      }
    | undefined;
}

/** DPoP proof acceptance window: `iat` up to this far in the past or future (seconds). */
export const dpopProofWindowSeconds = 300;

const proofWindow = {
  maxAgeSeconds: dpopProofWindowSeconds,
  maxSkewSeconds: dpopProofWindowSeconds,
};

function derOf(certificate: Uint8Array | string): Uint8Array {
  if (typeof certificate !== 'string') return certificate;
  return fromBase64(certificate.replace(/-----(BEGIN|END) CERTIFICATE-----/g, ''));
}

/**
 * Enforces a token's sender constraint: RFC 8705 §3 certificate binding (`cnf.x5t#S256`
 * equals the SHA-256 of the presented certificate) and RFC 9449 §7 DPoP binding (the token
 * came with the DPoP scheme and a valid proof signed by the key whose thumbprint is
 * `cnf.jkt`, for this method and URL, with `ath` the token's hash and an unused `jti`).
 * A DPoP-bound token sent as `Bearer` is refused; so is the DPoP scheme with an unbound token.
 */
export class SenderConstraints {
  readonly #replay: ReplayGuard;

  constructor(
    private readonly now: () => number,
    replayCapacity: number,
    replay?: ReplayGuard,
  ) {
    // Remembered in milliseconds, the unit of `now`.
    this.#replay = replay ?? new ReplayCache(replayCapacity, now);
  }

  async check(
    token: string,
    claims: AccessTokenPayload,
    scheme: 'Bearer' | 'DPoP' | undefined,
    evidence: SenderEvidence | undefined,
  ): Promise<void> {
    const cnf = (typeof claims.cnf === 'object' && claims.cnf !== null ? claims.cnf : {}) as {
      jkt?: unknown;
      'x5t#S256'?: unknown;
    };
    if (cnf['x5t#S256'] !== undefined) {
      const certificate = evidence?.clientCertificate;
      if (certificate === undefined)
        throw new VerifierError('certificate_mismatch', { detail: 'no client certificate' });
      let thumbprint: string;
      try {
        thumbprint = await sha256Base64url(derOf(certificate));
      } catch {
        throw new VerifierError('certificate_mismatch', { detail: 'unreadable certificate' });
      }
      if (thumbprint !== cnf['x5t#S256'])
        throw new VerifierError('certificate_mismatch', { detail: 'x5t#S256 differs' });
    }
    if (cnf.jkt === undefined) {
      if (scheme === 'DPoP')
        throw new VerifierError('dpop_required', { detail: 'DPoP scheme with an unbound token' });
      return;
    }
    if (scheme === 'Bearer')
      throw new VerifierError('dpop_required', { detail: 'DPoP-bound token sent as Bearer' });
    const dpop = evidence?.dpop;
    if (dpop === undefined)
      throw new VerifierError('dpop_required', { detail: 'no DPoP request details' });
    await this.#checkProof(token, String(cnf.jkt), dpop);
  }

  async #checkProof(
    token: string,
    jkt: string,
    dpop: NonNullable<SenderEvidence['dpop']>,
  ): Promise<void> {
    const fail = (detail: string) => new VerifierError('dpop_proof', { detail });
    const proofs = typeof dpop.proof === 'string' ? [dpop.proof] : (dpop.proof ?? []);
    if (proofs.length !== 1 || proofs[0] === '') throw fail('exactly one DPoP header is required');
    const proof = proofs[0]!;
    let jwk: unknown;
    try {
      jwk = decodeProtectedHeader(proof).jwk;
    } catch {
      throw fail('not a JWS');
    }
    if (!isPublicJwk(jwk)) throw fail('bad jwk header');
    const nowMs = this.now();
    let payload;
    try {
      ({ payload } = await jwtVerify(proof, EmbeddedJWK, {
        typ: dpopProofType,
        algorithms: [...dpopAlgorithms],
        currentDate: new Date(nowMs),
      }));
    } catch (error) {
      throw fail(`proof rejected: ${(error as Error).message}`);
    }
    const problem = dpopClaimsProblem(payload, {
      htm: dpop.method.toUpperCase(),
      htu: dpop.url,
      nowSeconds: nowMs / 1000,
      ...proofWindow,
      ath: await sha256Base64url(token),
    });
    if (problem !== undefined) throw fail(problem);
    if ((await calculateJwkThumbprint(jwk as JWK)) !== jkt) throw fail('proof key is not cnf.jkt');
    const entry = dpopReplayEntry(jkt, payload, proofWindow);
    const used = await this.#replay.use(entry.key, entry.until * 1000);
    if (used === 'replayed') throw fail('jti replayed');
    if (used === 'full')
      throw new VerifierError('unavailable', { detail: 'DPoP replay guard full' });
  }

  /** Forgets this process's remembered proofs (a shared guard keeps its own). */
  clear(): void {
    if (this.#replay instanceof ReplayCache) this.#replay.clear();
  }
}

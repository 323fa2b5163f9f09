import {
  dpopClaimsProblem,
  dpopProofType,
  dpopReplayEntry,
  dpopSigningAlgorithms,
  isPublicJwk,
  OAuthError,
  sha256Base64url,
  type ReplayGuard,
} from '@tessera/protocol';
import {
  calculateJwkThumbprint,
  decodeProtectedHeader,
  EmbeddedJWK,
  jwtVerify,
  type JWK,
  type JWTPayload,
} from 'jose';

export { dpopSigningAlgorithms };
import type { DpopNonces } from './dpop-nonce.js';

/** How far in the past a proof's `iat` may be (seconds); also how long its `jti` is remembered. */
export const dpopProofMaxAge = 300;
/** How far in the future a proof's `iat` may be, for clock skew (seconds). */
export const dpopClockSkew = 60;
const window = { maxAgeSeconds: dpopProofMaxAge, maxSkewSeconds: dpopClockSkew };

export interface DpopExpectations {
  /** The HTTP method of the request (RFC 9449 §4.3 check 8). */
  htm: string;
  /** The request URI without query and fragment (§4.3 check 9). */
  htu: string;
  nowSeconds: number;
  replay: ReplayGuard;
  /** At a resource server: the access token, whose hash `ath` must carry (§4.3 check 11). */
  accessToken?: string;
  /** Accepted proof `alg`s; default all of {@link dpopSigningAlgorithms} (FAPI 2.0: no RS256). */
  algorithms?: readonly string[];
  /** RFC 9449 §8: server nonces the proof must carry (`--dpop-nonce`); none when undefined. */
  nonces?: DpopNonces | undefined;
}

function invalidProof(detail: string): OAuthError {
  return new OAuthError('invalid_dpop_proof', 'The DPoP proof is invalid', { detail });
}

/**
 * Checks a DPoP proof JWT (RFC 9449 §4.3) and returns the JWK SHA-256 thumbprint (RFC 7638)
 * of its key, which the token's `cnf.jkt` carries. Server nonces (§8) are checked when
 * `nonces` is given (`--dpop-nonce`). The
 * claim checks and replay key are the protocol package's, shared with the verifier.
 */
export async function verifyDpopProof(
  header: string | string[] | undefined,
  expected: DpopExpectations,
): Promise<{ jkt: string }> {
  if (Array.isArray(header)) throw invalidProof('more than one DPoP header');
  if (header === undefined || header === '') throw invalidProof('no DPoP header');
  let protectedHeader: ReturnType<typeof decodeProtectedHeader>;
  try {
    protectedHeader = decodeProtectedHeader(header);
  } catch {
    throw invalidProof('not a JWS');
  }
  const jwk = protectedHeader.jwk;
  if (jwk === undefined || typeof jwk !== 'object') throw invalidProof('no jwk header');
  if (!isPublicJwk(jwk)) throw invalidProof('jwk is not a public key');
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(header, EmbeddedJWK, {
      typ: dpopProofType,
      algorithms: [...(expected.algorithms ?? dpopSigningAlgorithms)],
      currentDate: new Date(expected.nowSeconds * 1000),
    }));
  } catch (error) {
    throw invalidProof(`proof rejected: ${(error as Error).message}`);
  }
  const problem = dpopClaimsProblem(payload, {
    htm: expected.htm,
    htu: expected.htu,
    nowSeconds: expected.nowSeconds,
    ...window,
    ath:
      expected.accessToken === undefined ? undefined : await sha256Base64url(expected.accessToken),
  });
  if (problem !== undefined) throw invalidProof(problem);
  // §8: a missing or stale nonce is answered with a fresh one, before the jti is spent.
  if (expected.nonces && !expected.nonces.valid(payload.nonce))
    throw expected.nonces.challenge(payload.nonce === undefined ? 'no nonce' : 'stale nonce');
  const jkt = await calculateJwkThumbprint(jwk as JWK, 'sha256');
  const entry = dpopReplayEntry(jkt, payload, window);
  const used = await expected.replay.use(entry.key, entry.until);
  if (used === 'replayed') throw invalidProof('jti already used');
  if (used === 'full') {
    throw new OAuthError('temporarily_unavailable', 'Too many DPoP proofs; retry shortly', {
      status: 503,
      detail: 'DPoP replay cache full',
    });
  }
  return { jkt };
}

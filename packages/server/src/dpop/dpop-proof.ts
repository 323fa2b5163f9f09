import { OAuthError } from '@tessera/protocol';
import { createHash } from 'node:crypto';
import {
  calculateJwkThumbprint,
  decodeProtectedHeader,
  EmbeddedJWK,
  jwtVerify,
  type JWTPayload,
} from 'jose';
import type { ReplayGuard } from '../lib/replay-cache.js';

/** RFC 9449 §5.1 `dpop_signing_alg_values_supported`: asymmetric algorithms only. */
export const dpopSigningAlgorithms = ['RS256', 'PS256', 'ES256', 'EdDSA'];

/** How far in the past a proof's `iat` may be (seconds); also how long its `jti` is remembered. */
export const dpopProofMaxAge = 300;
/** How far in the future a proof's `iat` may be, for clock skew (seconds). */
export const dpopClockSkew = 60;

export interface DpopExpectations {
  /** The HTTP method of the request (RFC 9449 §4.3 check 8). */
  htm: string;
  /** The request URI without query and fragment (§4.3 check 9). */
  htu: string;
  nowSeconds: number;
  replay: ReplayGuard;
  /** At a resource server: the access token, whose hash `ath` must carry (§4.3 check 11). */
  accessToken?: string;
}

function invalidProof(detail: string): OAuthError {
  return new OAuthError('invalid_dpop_proof', 'The DPoP proof is invalid', { detail });
}

/** `htu` comparison ignores query and fragment (RFC 9449 §4.3) and URL spelling differences. */
export function normalizeHtu(value: string): string | undefined {
  try {
    const url = new URL(value);
    url.search = '';
    url.hash = '';
    return url.href;
  } catch {
    return undefined;
  }
}

/**
 * Checks a DPoP proof JWT (RFC 9449 §4.3) and returns the JWK SHA-256 thumbprint (RFC 7638)
 * of its key, which the token's `cnf.jkt` carries. Server nonces (§8) are not used.
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
  if ('d' in jwk || 'k' in jwk || 'p' in jwk) throw invalidProof('jwk is not a public key');
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(header, EmbeddedJWK, {
      typ: 'dpop+jwt',
      algorithms: dpopSigningAlgorithms,
      currentDate: new Date(expected.nowSeconds * 1000),
    }));
  } catch (error) {
    throw invalidProof(`proof rejected: ${(error as Error).message}`);
  }
  if (typeof payload.jti !== 'string' || payload.jti === '' || payload.jti.length > 256)
    throw invalidProof('jti missing');
  if (payload.htm !== expected.htm) throw invalidProof('htm does not match the request method');
  const htu = typeof payload.htu === 'string' ? normalizeHtu(payload.htu) : undefined;
  if (htu === undefined || htu !== normalizeHtu(expected.htu))
    throw invalidProof('htu does not match the request URI');
  const iat = payload.iat;
  if (typeof iat !== 'number') throw invalidProof('iat missing');
  if (iat > expected.nowSeconds + dpopClockSkew || iat < expected.nowSeconds - dpopProofMaxAge)
    throw invalidProof('iat outside the accepted window');
  if (expected.accessToken !== undefined) {
    const ath = createHash('sha256').update(expected.accessToken).digest('base64url');
    if (payload.ath !== ath) throw invalidProof('ath does not match the access token');
  }
  const jkt = await calculateJwkThumbprint(jwk, 'sha256');
  const used = await expected.replay.use(
    `${jkt}:${payload.jti}`,
    iat + dpopProofMaxAge + dpopClockSkew,
  );
  if (used === 'replayed') throw invalidProof('jti already used');
  if (used === 'full') {
    throw new OAuthError('temporarily_unavailable', 'Too many DPoP proofs; retry shortly', {
      status: 503,
      detail: 'DPoP replay cache full',
    });
  }
  return { jkt };
}

/**
 * RFC 9449 (DPoP) proof checks that need no JOSE library: the constants both sides share and
 * the claim checks after the signature is verified. The server (token endpoint) and the
 * verifier (resource servers) verify the JWS with jose, then call {@link dpopClaimsProblem}.
 */

/** RFC 9449 §5.1 `dpop_signing_alg_values_supported`: asymmetric algorithms only. */
export const dpopSigningAlgorithms: readonly string[] = ['RS256', 'PS256', 'ES256', 'EdDSA'];

/** RFC 9449 §4.2: the `typ` of a DPoP proof's JOSE header. */
export const dpopProofType = 'dpop+jwt';

/** A `jti` longer than this is refused (bounds the replay cache's memory). */
export const maxJtiLength = 256;

/**
 * RFC 9449 §4.3 check 9: `htu` is compared without query and fragment, and as a normalized
 * URL (so spelling differences such as default ports or case in the host do not matter).
 * `undefined` for a value that is not an absolute URL.
 */
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

/** RFC 9449 §4.3 check 5: the header's `jwk` is a public key (no private or symmetric parts). */
export function isPublicJwk(jwk: unknown): jwk is Record<string, unknown> {
  return typeof jwk === 'object' && jwk !== null && !('d' in jwk || 'k' in jwk || 'p' in jwk);
}

export interface DpopClaimExpectations {
  /** The request method, upper case (§4.3 check 8). */
  htm: string;
  /** The request URI (§4.3 check 9); normalized here. */
  htu: string;
  /** Now, in seconds (fractions allowed). */
  nowSeconds: number;
  /** How far in the past `iat` may be (seconds). */
  maxAgeSeconds: number;
  /** How far in the future `iat` may be, for clock skew (seconds). */
  maxSkewSeconds: number;
  /** At a resource server: the expected `ath`, base64url SHA-256 of the access token (§4.3 check 11). */
  ath?: string | undefined;
}

/**
 * RFC 9449 §4.3 checks 7 to 11 on a proof whose signature, `typ` and algorithm were verified:
 * `jti` present (at most {@link maxJtiLength}), `htm` and `htu` those of the request, `iat`
 * within the window, `ath` the token's hash when expected. Returns what failed, for logs, or
 * `undefined`. Does not check the `jti` for replay (see {@link dpopReplayEntry}) nor nonces.
 */
export function dpopClaimsProblem(
  payload: Readonly<Record<string, unknown>>,
  expected: DpopClaimExpectations,
): string | undefined {
  const { jti, htm, htu, iat, ath } = payload;
  if (typeof jti !== 'string' || jti === '' || jti.length > maxJtiLength) return 'jti missing';
  if (htm !== expected.htm) return 'htm does not match the request method';
  const normalized = typeof htu === 'string' ? normalizeHtu(htu) : undefined;
  if (normalized === undefined || normalized !== normalizeHtu(expected.htu))
    return 'htu does not match the request URI';
  if (typeof iat !== 'number') return 'iat missing';
  if (iat > expected.nowSeconds + expected.maxSkewSeconds) return 'iat outside the accepted window';
  if (iat < expected.nowSeconds - expected.maxAgeSeconds) return 'iat outside the accepted window';
  if (expected.ath !== undefined && ath !== expected.ath)
    return 'ath does not match the access token';
  return undefined;
}

/**
 * The replay-cache entry of a checked proof: key `jkt:jti` (a `jti` is unique per key) and the
 * time in seconds until which it must be remembered (past that, `iat` is out of the window).
 */
export function dpopReplayEntry(
  jkt: string,
  payload: { jti?: unknown; iat?: unknown },
  window: Pick<DpopClaimExpectations, 'maxAgeSeconds' | 'maxSkewSeconds'>,
): { key: string; until: number } {
  return {
    key: `${jkt}:${String(payload.jti)}`,
    until: Number(payload.iat) + window.maxAgeSeconds + window.maxSkewSeconds,
  };
}

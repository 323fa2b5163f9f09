/**
 * The asymmetric JWS algorithms (RFC 7518 §3, RFC 8037, RFC 9864) the verifier can check.
 * `none` and the HMAC family are absent on purpose: an access token verified with a shared
 * secret could be minted by every resource server holding it.
 */
export const supportedAlgorithms = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
] as const;

export type SupportedAlgorithm = (typeof supportedAlgorithms)[number];

/** The subset of JWK members the verifier looks at. */
export interface PublicJwk {
  kty?: unknown;
  kid?: unknown;
  alg?: unknown;
  use?: unknown;
  key_ops?: unknown;
  crv?: unknown;
  [member: string]: unknown;
}

const ecCurves: Record<string, string> = { ES256: 'P-256', ES384: 'P-384', ES512: 'P-521' };

/** Whether `jwk` may verify a JWS with `alg` (RFC 7517 §4: kty, use, key_ops, alg; RFC 7518 curves). */
export function jwkMatchesAlgorithm(jwk: PublicJwk, alg: string): boolean {
  if (jwk.alg !== undefined && jwk.alg !== alg) return false;
  if (jwk.use !== undefined && jwk.use !== 'sig') return false;
  if (jwk.key_ops !== undefined && !(Array.isArray(jwk.key_ops) && jwk.key_ops.includes('verify')))
    return false;
  switch (alg.slice(0, 2)) {
    case 'RS':
    case 'PS':
      return jwk.kty === 'RSA';
    case 'ES':
      return jwk.kty === 'EC' && jwk.crv === ecCurves[alg];
    case 'Ed':
      return jwk.kty === 'OKP' && jwk.crv === 'Ed25519';
    default:
      return false;
  }
}

/** The digest node:crypto pairs with an algorithm (`undefined` for EdDSA, which hashes internally). */
export function digestOf(alg: string): string | undefined {
  switch (alg.slice(-3)) {
    case '256':
      return 'sha256';
    case '384':
      return 'sha384';
    case '512':
      return 'sha512';
    default:
      return undefined;
  }
}

const publicMembers = ['kty', 'crv', 'n', 'e', 'x', 'y'] as const;

/**
 * Only the public-key members of a JWK: a JWKS that wrongly publishes private members must
 * still yield a public key (and an importer must never be handed `d`).
 */
export function publicKeyMembers(jwk: PublicJwk): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of publicMembers) if (typeof jwk[name] === 'string') out[name] = jwk[name];
  return out;
}

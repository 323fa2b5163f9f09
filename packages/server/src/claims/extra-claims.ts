import type { AccessTokenClaims } from '@tessera/protocol';
import type { ClientClaims } from '../store/contract.js';

/**
 * Claim names Tessera owns (RFC 7519 §4.1, RFC 9068 §2.2, RFC 8693 §4.3, RFC 7800): a
 * client's claims, a scope's claims and a token hook's answer never set them.
 */
export const reservedClaims: readonly string[] = [
  'iss',
  'sub',
  'aud',
  'exp',
  'nbf',
  'iat',
  'jti',
  'client_id',
  'scope',
  'cnf',
  'auth_time',
  'acr',
];
const reserved = new Set(reservedClaims);

/** Largest serialised claims object a client may hold (bytes of its JSON, UTF-8). */
export const maxClaimsBytes = 4096;

/** Why a claims object is refused; the message names the claim or the limit. */
export class ClaimsError extends Error {
  override name = 'ClaimsError';
}

export function isReservedClaim(name: string): boolean {
  return reserved.has(name);
}

/**
 * Checks a claims object as given by the CLI, the admin API or a file: a JSON object, none
 * of the reserved names, at most {@link maxClaimsBytes} serialised. Returns it unchanged.
 */
export function validClaims(value: unknown, what = 'claims'): ClientClaims {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new ClaimsError(`${what} must be a JSON object`);
  const names = Object.keys(value).filter(isReservedClaim);
  if (names.length > 0) {
    throw new ClaimsError(
      `${what} must not set ${names.join(', ')}: Tessera owns ${names.length === 1 ? 'that claim' : 'those claims'}`,
    );
  }
  const bytes = Buffer.byteLength(JSON.stringify(value));
  if (bytes > maxClaimsBytes)
    throw new ClaimsError(`${what} is ${bytes} bytes serialised, more than ${maxClaimsBytes}`);
  return value as ClientClaims;
}

/** Per-scope claims (`--scope-claims`): scope name → the claims its grant adds. */
export type ScopeClaims = Readonly<Record<string, ClientClaims>>;

/** Checks the `--scope-claims` document: an object from scope name to a claims object. */
export function validScopeClaims(value: unknown): ScopeClaims {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new ClaimsError('must be a JSON object from scope name to claims');
  for (const [scope, claims] of Object.entries(value))
    validClaims(claims, `the claims of scope ${JSON.stringify(scope)}`);
  return value as ScopeClaims;
}

/**
 * Adds the extra claims to a token's: those of each granted scope, then the client's own
 * (which win), then a token hook's (which win over both, but never over a name Tessera owns).
 * Shallow: a later source replaces a member, it does not merge into it.
 */
export function addExtraClaims(
  claims: AccessTokenClaims,
  scopes: readonly string[],
  clientClaims: ClientClaims,
  scopeClaims: ScopeClaims | undefined,
  hookClaims?: ClientClaims,
): void {
  const target = claims as unknown as Record<string, unknown>;
  if (scopeClaims !== undefined) {
    for (const scope of scopes) {
      const granted = scopeClaims[scope];
      if (granted !== undefined) for (const name in granted) target[name] = granted[name];
    }
  }
  // Reserved names were refused when the client was written: no check per token.
  for (const name in clientClaims) target[name] = clientClaims[name];
  if (hookClaims !== undefined) {
    for (const name in hookClaims) if (!reserved.has(name)) target[name] = hookClaims[name];
  }
}

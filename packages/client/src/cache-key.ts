import { hex, utf8 } from './lib/base64.js';
import type { AuthMethod } from './options.js';

/**
 * A fingerprint of the client secret: SHA-256 over a domain-separated input, truncated to
 * 128 bits. It keys the cache so a rotated secret never returns a token minted with the old
 * one, without the secret itself ever being a cache key (a shared store's keys are readable
 * by whoever can read the store). Deliberately not a slow hash: generated secrets carry
 * enough entropy that guessing them from a fingerprint is not a concern; a human-chosen
 * secret is weak with or without this.
 */
export async function secretFingerprint(clientId: string, secret: string): Promise<string> {
  const digest = await crypto.subtle.digest(
    'SHA-256',
    utf8(`tessera/client/secret-fingerprint/v1\0${clientId}\0${secret}`),
  );
  return hex(digest).slice(0, 32);
}

/** RFC 6749 §3.3 scopes as a sorted, de-duplicated, space-delimited string. */
export function normalizeScope(scope: string | readonly string[] | undefined): string {
  if (scope === undefined) return '';
  const parts = typeof scope === 'string' ? scope.split(' ') : scope.flatMap((s) => s.split(' '));
  return [...new Set(parts.filter((s) => s !== ''))].sort().join(' ');
}

export interface CacheKeyParts {
  tokenEndpoint: string;
  clientId: string;
  authMethod: AuthMethod;
  secretFingerprint: string;
  scope: string;
  audience: string | undefined;
  resource: string | undefined;
  /** RFC 7638 thumbprint of the DPoP key: a DPoP-bound token is useless with any other key. */
  dpopJkt?: string | undefined;
}

/**
 * The cache key: everything that changes which token the endpoint would issue. JSON keeps
 * the parts unambiguous whatever characters they contain.
 */
export function cacheKey(parts: CacheKeyParts): string {
  return JSON.stringify([
    'v1',
    parts.tokenEndpoint,
    parts.clientId,
    parts.authMethod,
    parts.secretFingerprint,
    parts.scope,
    parts.audience ?? null,
    parts.resource ?? null,
    // Appended only with DPoP, so keys of bearer clients (and shared stores) stay as they were.
    ...(parts.dpopJkt === undefined ? [] : [`dpop:${parts.dpopJkt}`]),
  ]);
}

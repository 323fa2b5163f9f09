import type { VerifierEventListener } from '../events.js';
import { RemoteError, fetchJson } from './http.js';

/**
 * Candidate metadata URLs for an issuer: RFC 8414 §3.1 (well-known segment inserted before
 * the issuer's path), the same appended after the path, then OpenID Connect Discovery 1.0 §4.
 */
export function metadataUrls(issuer: string): string[] {
  const url = new URL(issuer);
  const path = url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '');
  const base = issuer.replace(/\/$/, '');
  const urls = [
    `${url.origin}/.well-known/oauth-authorization-server${path}`,
    `${base}/.well-known/oauth-authorization-server`,
    `${base}/.well-known/openid-configuration`,
  ];
  return [...new Set(urls)];
}

/**
 * Finds the issuer's `jwks_uri`. The metadata's `issuer` must equal the configured one
 * (RFC 8414 §3.3), so a metadata document cannot redirect trust to another issuer's keys.
 */
export async function discoverJwksUri(
  issuer: string,
  fetchImpl: typeof fetch,
  timeoutMs: number,
  emit: VerifierEventListener | undefined,
): Promise<string> {
  let lastError: unknown;
  for (const metadataUri of metadataUrls(issuer)) {
    try {
      const { body } = await fetchJson(
        fetchImpl,
        metadataUri,
        { headers: { accept: 'application/json' } },
        timeoutMs,
      );
      const metadata = body as { issuer?: unknown; jwks_uri?: unknown } | null;
      if (typeof metadata !== 'object' || metadata === null)
        throw new RemoteError(`${metadataUri}: metadata is not an object`);
      if (metadata.issuer !== issuer)
        throw new RemoteError(`${metadataUri}: metadata issuer does not match`);
      if (typeof metadata.jwks_uri !== 'string')
        throw new RemoteError(`${metadataUri}: metadata has no jwks_uri`);
      emit?.({ type: 'discovery', metadataUri, jwksUri: metadata.jwks_uri });
      return metadata.jwks_uri;
    } catch (error) {
      lastError = error;
      emit?.({
        type: 'discovery_error',
        metadataUri,
        message: error instanceof Error ? error.message : 'unknown error',
      });
    }
  }
  throw lastError instanceof Error ? lastError : new RemoteError('discovery failed');
}

import { DiscoveryError } from './errors.js';

/** The metadata fields the token client uses (RFC 8414 §2). */
export interface DiscoveredEndpoints {
  /** The metadata's `issuer`, exactly as the server spells it (the `aud` of client assertions). */
  issuer: string | undefined;
  tokenEndpoint: string;
  revocationEndpoint: string | undefined;
}

/**
 * Metadata URLs to try, in order: RFC 8414 §3.1 (well-known inserted before the issuer's
 * path), the appended form (what many servers serve for issuers with a path), then OpenID
 * Connect Discovery 1.0 §4 (`openid-configuration` appended).
 */
export function discoveryUrls(issuer: string): string[] {
  const url = new URL(issuer);
  const path = url.pathname.replace(/\/+$/, '');
  const base = `${url.origin}`;
  const urls = [`${base}/.well-known/oauth-authorization-server${path}`];
  if (path !== '') urls.push(`${base}${path}/.well-known/oauth-authorization-server`);
  urls.push(`${base}${path}/.well-known/openid-configuration`);
  return urls;
}

/**
 * Fetches authorization server metadata and checks that `issuer` matches (RFC 8414 §3.3,
 * ignoring one trailing slash) and that `token_endpoint` is an absolute URL. Does not check
 * `token_endpoint_auth_methods_supported`: the server's answer to the token request is the
 * authority on that.
 */
export async function discover(
  issuer: string,
  fetchImpl: typeof fetch,
  signal: AbortSignal,
  timeoutMs: number,
): Promise<DiscoveredEndpoints> {
  const failures: string[] = [];
  for (const url of discoveryUrls(issuer)) {
    let response: Response;
    try {
      response = await fetchImpl(url, {
        headers: { accept: 'application/json' },
        signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]),
      });
    } catch (error) {
      throw new DiscoveryError('discovery_failed', `discovery request to ${url} failed`, {
        cause: error,
      });
    }
    if (!response.ok) {
      await response.body?.cancel();
      failures.push(`${url} → ${response.status}`);
      continue;
    }
    let metadata: Record<string, unknown>;
    try {
      metadata = (await response.json()) as Record<string, unknown>;
    } catch (error) {
      throw new DiscoveryError('discovery_failed', `metadata at ${url} is not JSON`, {
        cause: error,
      });
    }
    const trim = (s: string): string => s.replace(/\/$/, '');
    if (typeof metadata['issuer'] !== 'string' || trim(metadata['issuer']) !== trim(issuer)) {
      throw new DiscoveryError('discovery_failed', `metadata at ${url} names another issuer`, {
        status: response.status,
      });
    }
    const tokenEndpoint = metadata['token_endpoint'];
    if (typeof tokenEndpoint !== 'string' || !URL.canParse(tokenEndpoint)) {
      throw new DiscoveryError(
        'discovery_failed',
        `metadata at ${url} has no valid token_endpoint`,
      );
    }
    const revocation = metadata['revocation_endpoint'];
    return {
      issuer: metadata['issuer'],
      tokenEndpoint,
      revocationEndpoint:
        typeof revocation === 'string' && URL.canParse(revocation) ? revocation : undefined,
    };
  }
  throw new DiscoveryError(
    'discovery_failed',
    `no authorization server metadata for ${issuer} (${failures.join(', ')})`,
  );
}

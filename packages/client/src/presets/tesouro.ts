import { tesouroProvider } from '@tessera/protocol';
import { rfc6750TokenRejected } from '../dialect.js';
import type { TokenClientOptions } from '../options.js';
import { joinUrl, type PresetOptions } from './preset-options.js';

/** Tesouro hosts per environment. */
export const tesouroBaseUrls = tesouroProvider.hosts;

/**
 * Tesouro's "expired token" answer: HTTP 400 with `{"error":{"message":"The token has been
 * expired."}}`. RFC 6750 challenges are recognised too.
 */
export async function tesouroTokenRejected(response: Response): Promise<boolean> {
  if (rfc6750TokenRejected(response)) return true;
  if (response.status !== 400 || !(response.headers.get('content-type') ?? '').includes('json'))
    return false;
  const body = (await response.clone().json()) as { error?: { message?: unknown } } | null;
  const message = body?.error?.message;
  return (
    typeof message === 'string' && /token has been expired|token (is|has) expired/i.test(message)
  );
}

/**
 * Tesouro: `POST {base}/openid/connect/token`, urlencoded `grant_type`, `client_id`,
 * `client_secret` (client_secret_post); revocation `POST {base}/v1/auth/revoke` with JSON
 * `{client_id, client_secret, token}` and `X-Finops-Version: 2025-06-23`.
 *
 * @example
 * ```ts
 * const client = createTokenClient(presets.tesouro({ environment: 'sandbox', clientId, clientSecret }))
 * ```
 */
export function tesouro(
  options: PresetOptions & { environment: 'sandbox' | 'production' },
): TokenClientOptions {
  const { environment, baseUrl, ...rest } = options;
  const base = baseUrl ?? tesouroBaseUrls[environment];
  return {
    ...rest,
    tokenEndpoint: joinUrl(base, tesouroProvider.tokenPath),
    revocationEndpoint: joinUrl(base, tesouroProvider.revoke.path),
    authMethod: 'client_secret_post',
    dialect: {
      name: tesouroProvider.name,
      tokenRequestEncoding: 'urlencoded',
      isTokenRejected: tesouroTokenRejected,
      revocationFormat: 'json-credentials',
      revocationHeaders: { ...tesouroProvider.revoke.headers },
    },
  };
}

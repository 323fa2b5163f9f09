import { astrapayProvider } from '@tessera/protocol';
import { anyUnauthorized } from '../dialect.js';
import type { TokenClientOptions } from '../options.js';
import { joinUrl, type PresetOptions } from './preset-options.js';

/** The only host AstraPay documents; pass `baseUrl` for production. */
export const astrapaySandboxUrl = astrapayProvider.hosts.sandbox;

/**
 * AstraPay: `POST {base}/oauth/v1/token`, urlencoded `grant_type`, `client_id`,
 * `client_secret` and `scope` — AstraPay answers `invalid_request` ("Scope parameter not
 * provided.") without one, so `scope` is required here. A refused token gets a 401. No
 * revocation call is documented.
 */
export function astrapay(
  options: PresetOptions & { scope: string | readonly string[] },
): TokenClientOptions {
  const { baseUrl, ...rest } = options;
  return {
    ...rest,
    tokenEndpoint: joinUrl(baseUrl ?? astrapaySandboxUrl, astrapayProvider.tokenPath),
    authMethod: 'client_secret_post',
    dialect: {
      name: astrapayProvider.name,
      tokenRequestEncoding: 'urlencoded',
      scopeRequired: true,
      isTokenRejected: anyUnauthorized,
    },
  };
}

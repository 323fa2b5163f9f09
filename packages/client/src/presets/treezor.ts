import { treezorProvider } from '@tessera/protocol';
import { anyUnauthorized } from '../dialect.js';
import type { TokenClientOptions } from '../options.js';
import { joinUrl, type PresetOptions } from './preset-options.js';

/**
 * Treezor: `POST {baseUrl}/oauth/token` as `multipart/form-data` with `grant_type`,
 * `client_id`, `client_secret` and optional `scope` (e.g. `"admin read_all"`). The base URL
 * is per customer and environment, so it is required. A refused token gets a 401. Treezor
 * also requires mutual TLS: supply a `fetch` configured with your client certificate. No
 * revocation call is documented.
 */
export function treezor(options: PresetOptions & { baseUrl: string }): TokenClientOptions {
  const { baseUrl, ...rest } = options;
  return {
    ...rest,
    tokenEndpoint: joinUrl(baseUrl, treezorProvider.tokenPath),
    authMethod: 'client_secret_post',
    dialect: {
      name: treezorProvider.name,
      tokenRequestEncoding: 'multipart',
      isTokenRejected: anyUnauthorized,
    },
  };
}

import { contaSimplesProvider } from '@tessera/protocol';
import { anyUnauthorized } from '../dialect.js';
import type { TokenClientOptions } from '../options.js';
import { joinUrl, type PresetOptions } from './preset-options.js';

/** The only host Conta Simples documents; pass `baseUrl` for production. */
export const contaSimplesSandboxUrl = contaSimplesProvider.hosts.sandbox;

/**
 * Conta Simples: `POST {base}/oauth/v1/access-token` with
 * `Authorization: Basic base64(api_key:api_secret)` (plain, as documented — not RFC 6749's
 * form-encoding first) and a urlencoded body of only `grant_type=client_credentials`.
 * `clientId` is the API key, `clientSecret` the API secret. Scope and audience are not part
 * of the documented call and are not accepted. Its API answers 401 to a refused token.
 * No revocation call is documented.
 */
export function contaSimples(
  options: Omit<PresetOptions, 'scope' | 'audience' | 'resource'>,
): TokenClientOptions {
  const { baseUrl, ...rest } = options;
  return {
    ...rest,
    tokenEndpoint: joinUrl(baseUrl ?? contaSimplesSandboxUrl, contaSimplesProvider.tokenPath),
    authMethod: 'client_secret_basic',
    dialect: {
      name: contaSimplesProvider.name,
      tokenRequestEncoding: 'urlencoded',
      basicCredentialEncoding: 'plain',
      isTokenRejected: anyUnauthorized,
    },
  };
}

import type { AuthorizationServerMetadata } from '@tessera/protocol';
import type { TesseraContext } from '../context.js';
import { introspectionPath } from './introspect.js';
import { jwksPath } from './jwks.js';
import { revocationPath } from './revoke.js';
import { assertionSigningAlgorithms as assertionAlgorithms } from '../client-auth/private-key-jwt.js';
import { dpopSigningAlgorithms as dpopAlgorithms } from '../dpop/dpop-proof.js';
import { fapi2Algorithms } from '../profiles/fapi2.js';
import { json, list, object, str, type Endpoint } from './endpoint.js';

export const tokenPath = '/oauth/token';

/** RFC 8414 §2 metadata describing exactly what this server does. */
export function authorizationServerMetadata(
  context: Pick<TesseraContext, 'config' | 'keys'>,
): AuthorizationServerMetadata {
  const { issuer, tlsClientCa, trustedProxies } = context.config;
  // Client certificates reach the server directly (--tls-client-ca) or through a proxy.
  const mtls = tlsClientCa !== undefined || trustedProxies.length > 0;
  // FAPI 2.0 (issue 25): no secrets, no RS256.
  const fapi2 = context.config.profile === 'fapi2';
  const endpointMethods = fapi2
    ? ['private_key_jwt']
    : ['client_secret_basic', 'client_secret_post', 'private_key_jwt'];
  const assertionSigningAlgorithms = fapi2 ? [...fapi2Algorithms] : assertionAlgorithms;
  const dpopSigningAlgorithms = fapi2 ? [...fapi2Algorithms] : dpopAlgorithms;
  return {
    issuer,
    token_endpoint: `${issuer}${tokenPath}`,
    jwks_uri: `${issuer}${jwksPath}`,
    grant_types_supported: ['client_credentials'],
    // No authorization endpoint: client credentials only (RFC 8414 §2 still asks for the list).
    response_types_supported: [],
    token_endpoint_auth_methods_supported: mtls
      ? [...endpointMethods, 'tls_client_auth', 'self_signed_tls_client_auth']
      : endpointMethods,
    token_endpoint_auth_signing_alg_values_supported: assertionSigningAlgorithms,
    revocation_endpoint: `${issuer}${revocationPath}`,
    revocation_endpoint_auth_methods_supported: endpointMethods,
    // RFC 8414 §2: required when the endpoint's methods include private_key_jwt (they do).
    revocation_endpoint_auth_signing_alg_values_supported: assertionSigningAlgorithms,
    introspection_endpoint: `${issuer}${introspectionPath}`,
    introspection_endpoint_auth_methods_supported: endpointMethods,
    introspection_endpoint_auth_signing_alg_values_supported: assertionSigningAlgorithms,
    // RFC 9701 §7: JWT-secured introspection answers are signed with the token key.
    introspection_signing_alg_values_supported: [context.config.signingAlg],
    access_token_signing_alg_values_supported: context.keys.algorithms,
    dpop_signing_alg_values_supported: dpopSigningAlgorithms,
    ...(mtls ? { tls_client_certificate_bound_access_tokens: true } : {}),
  };
}

export function discoveryEndpoint(deps: Pick<TesseraContext, 'config' | 'keys'>): Endpoint {
  return {
    method: 'GET',
    // RFC 8414 §3, and the same document at the OpenID path that many libraries try first.
    paths: ['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration'],
    summary: 'Authorization server metadata (RFC 8414)',
    caller: 'none',
    responses: {
      200: json(
        'Metadata',
        object({
          issuer: str,
          token_endpoint: str,
          jwks_uri: str,
          grant_types_supported: list(str),
        }),
      ),
    },
    handle: () => ({ status: 200, body: authorizationServerMetadata(deps) }),
  };
}

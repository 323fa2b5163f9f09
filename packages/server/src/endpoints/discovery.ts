import type { AuthorizationServerMetadata } from '@tessera/protocol';
import type { FastifyInstance } from 'fastify';
import type { TesseraContext } from '../context.js';
import { introspectionPath } from './introspect.js';
import { jwksPath } from './jwks.js';
import { revocationPath } from './revoke.js';
import { assertionSigningAlgorithms } from '../client-auth/private-key-jwt.js';
import { dpopSigningAlgorithms } from '../dpop/dpop-proof.js';

export const tokenPath = '/oauth/token';

/** RFC 8414 §2 metadata describing exactly what this server does. */
export function authorizationServerMetadata(context: TesseraContext): AuthorizationServerMetadata {
  const { issuer, tlsClientCa, trustedProxies } = context.config;
  // Client certificates reach the server directly (--tls-client-ca) or through a proxy.
  const mtls = tlsClientCa !== undefined || trustedProxies.length > 0;
  const endpointMethods = ['client_secret_basic', 'client_secret_post', 'private_key_jwt'];
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
    introspection_endpoint: `${issuer}${introspectionPath}`,
    introspection_endpoint_auth_methods_supported: endpointMethods,
    access_token_signing_alg_values_supported: context.keys.algorithms,
    dpop_signing_alg_values_supported: dpopSigningAlgorithms,
    ...(mtls ? { tls_client_certificate_bound_access_tokens: true } : {}),
  };
}

export function registerDiscoveryEndpoints(app: FastifyInstance, context: TesseraContext): void {
  const handler = async () => authorizationServerMetadata(context);
  app.get('/.well-known/oauth-authorization-server', handler);
  app.get('/.well-known/openid-configuration', handler);
}

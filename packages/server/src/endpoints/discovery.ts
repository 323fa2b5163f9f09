import type { AuthorizationServerMetadata } from '@tessera/protocol';
import type { FastifyInstance } from 'fastify';
import type { TesseraContext } from '../context.js';
import { introspectionPath } from './introspect.js';
import { jwksPath } from './jwks.js';
import { revocationPath } from './revoke.js';

export const tokenPath = '/oauth/token';

/** RFC 8414 §2 metadata describing exactly what this server does. */
export function authorizationServerMetadata(context: TesseraContext): AuthorizationServerMetadata {
  const { issuer } = context.config;
  return {
    issuer,
    token_endpoint: `${issuer}${tokenPath}`,
    jwks_uri: `${issuer}${jwksPath}`,
    grant_types_supported: ['client_credentials'],
    // No authorization endpoint: client credentials only (RFC 8414 §2 still asks for the list).
    response_types_supported: [],
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    revocation_endpoint: `${issuer}${revocationPath}`,
    revocation_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    introspection_endpoint: `${issuer}${introspectionPath}`,
    introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    access_token_signing_alg_values_supported: context.keys.algorithms,
  };
}

export function registerDiscoveryEndpoints(app: FastifyInstance, context: TesseraContext): void {
  const handler = async () => authorizationServerMetadata(context);
  app.get('/.well-known/oauth-authorization-server', handler);
  app.get('/.well-known/openid-configuration', handler);
}

import { registeredAuthMethods } from '../store/contract.js';
import type { FastifyInstance } from 'fastify';
import type { TesseraContext } from '../context.js';

const json = (schema: object) => ({ 'application/json': { schema } });
const oauthError = { $ref: '#/components/schemas/OAuthError' };
const errorResponse = (description: string) => ({ description, content: json(oauthError) });
const form = (properties: Record<string, object>, required: string[]) => {
  const schema = { type: 'object', properties, required };
  return {
    required: true,
    content: {
      'application/x-www-form-urlencoded': { schema },
      'multipart/form-data': { schema },
      'application/json': { schema },
    },
  };
};
const clientAuth = [{ clientSecretBasic: [] }, { clientSecretPost: [] }];
const admin = [{ adminToken: ['tessera:admin'] }];
const idParam = [
  { name: 'id', in: 'path', required: true, schema: { type: 'string' }, description: 'client_id' },
];
const adminErrors = {
  '401': errorResponse('No or invalid access token (RFC 6750)'),
  '403': errorResponse('The token lacks the tessera:admin scope'),
};
const clientResponse = {
  description: 'The client (never its secret)',
  content: json({ $ref: '#/components/schemas/Client' }),
};

/** OpenAPI 3.1 description of the whole HTTP surface; a test keeps it in sync with the routes. */
export function openApiDocument(issuer: string) {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Tessera',
      version: '0.1.0',
      description:
        'OAuth 2.0 client credentials authorization server (RFC 6749 §4.4, RFC 9068 access tokens).',
    },
    servers: [{ url: issuer }],
    paths: {
      '/oauth/token': {
        post: {
          summary: 'Issue an access token (client credentials grant)',
          security: clientAuth,
          requestBody: form(
            {
              grant_type: { const: 'client_credentials' },
              scope: { type: 'string', description: 'Space-delimited scopes' },
              resource: {
                type: 'string',
                format: 'uri',
                description: 'RFC 8707 resource indicator',
              },
              audience: { type: 'string', description: 'Alias of resource' },
              client_id: { type: 'string' },
              client_secret: { type: 'string' },
            },
            ['grant_type'],
          ),
          responses: {
            '200': {
              description: 'Token issued',
              content: json({ $ref: '#/components/schemas/TokenResponse' }),
            },
            '400': errorResponse(
              'invalid_request, unsupported_grant_type, unauthorized_client, invalid_scope, invalid_target',
            ),
            '401': errorResponse('invalid_client'),
            '405': errorResponse('Method not allowed'),
            '413': errorResponse('Body too large'),
          },
        },
      },
      '/oauth/revoke': {
        post: {
          summary: 'Revoke an access token (RFC 7009)',
          security: clientAuth,
          requestBody: form({ token: { type: 'string' }, token_type_hint: { type: 'string' } }, [
            'token',
          ]),
          responses: {
            '200': { description: 'Revoked, or nothing to revoke' },
            '400': errorResponse('invalid_request, unsupported_token_type'),
            '401': errorResponse('invalid_client'),
          },
        },
      },
      '/oauth/introspect': {
        post: {
          summary: 'Introspect an access token (RFC 7662); needs the tessera:introspect scope',
          security: clientAuth,
          requestBody: form({ token: { type: 'string' }, token_type_hint: { type: 'string' } }, [
            'token',
          ]),
          responses: {
            '200': {
              description: 'Token state',
              content: json({ $ref: '#/components/schemas/Introspection' }),
            },
            '400': errorResponse('invalid_request'),
            '401': errorResponse('invalid_client'),
            '403': errorResponse('The client lacks the tessera:introspect scope'),
          },
        },
      },
      '/oauth/revocations': {
        get: {
          summary:
            'Revoked token ids since a cursor, for verifiers; needs the tessera:introspect scope',
          security: [{ clientSecretBasic: [] }],
          parameters: [{ name: 'since', in: 'query', required: false, schema: { type: 'string' } }],
          responses: {
            '200': {
              description: 'Revocations after the cursor',
              content: json({
                type: 'object',
                properties: {
                  revocations: {
                    type: 'array',
                    items: {
                      type: 'object',
                      properties: { jti: { type: 'string' }, exp: { type: 'integer' } },
                    },
                  },
                  cursor: { type: 'string' },
                },
              }),
            },
            '401': errorResponse('invalid_client'),
            '403': errorResponse('The client lacks the tessera:introspect scope'),
          },
        },
      },
      '/.well-known/jwks.json': {
        get: {
          summary: 'Public signing keys (RFC 7517)',
          responses: { '200': { description: 'JWK set' } },
        },
      },
      '/.well-known/oauth-authorization-server': {
        get: { summary: 'RFC 8414 metadata', responses: { '200': { description: 'Metadata' } } },
      },
      '/.well-known/openid-configuration': {
        get: {
          summary: 'The same metadata at the OpenID path',
          responses: { '200': { description: 'Metadata' } },
        },
      },
      '/healthz': { get: { summary: 'Liveness', responses: { '200': { description: 'Alive' } } } },
      '/readyz': {
        get: {
          summary: 'Readiness',
          responses: { '200': { description: 'Ready' }, '503': { description: 'Not ready' } },
        },
      },
      '/openapi.json': {
        get: { summary: 'This document', responses: { '200': { description: 'OpenAPI 3.1' } } },
      },
      '/admin/v1/clients': {
        get: {
          summary: 'List clients',
          security: admin,
          responses: {
            '200': {
              description: 'Clients',
              content: json({
                type: 'object',
                properties: {
                  clients: { type: 'array', items: { $ref: '#/components/schemas/Client' } },
                },
              }),
            },
            ...adminErrors,
          },
        },
        post: {
          summary: 'Create a client; the secret is in this response only',
          security: admin,
          requestBody: {
            required: true,
            content: json({ $ref: '#/components/schemas/ClientInput' }),
          },
          responses: {
            '201': {
              description: 'Created, with client_secret',
              content: json({ $ref: '#/components/schemas/Client' }),
            },
            '400': errorResponse('invalid_client_metadata'),
            '409': errorResponse('conflict'),
            ...adminErrors,
          },
        },
      },
      '/admin/v1/clients/{id}': {
        get: {
          summary: 'Show a client',
          security: admin,
          parameters: idParam,
          responses: { '200': clientResponse, '404': errorResponse('not_found'), ...adminErrors },
        },
        patch: {
          summary: 'Update scopes, audience, lifetime, auth method or name',
          security: admin,
          parameters: idParam,
          requestBody: {
            required: true,
            content: json({ $ref: '#/components/schemas/ClientInput' }),
          },
          responses: {
            '200': clientResponse,
            '400': errorResponse('invalid_client_metadata'),
            '404': errorResponse('not_found'),
            ...adminErrors,
          },
        },
        delete: {
          summary: 'Delete a client',
          security: admin,
          parameters: idParam,
          responses: {
            '204': { description: 'Deleted' },
            '404': errorResponse('not_found'),
            ...adminErrors,
          },
        },
      },
      '/admin/v1/clients/{id}/disable': {
        post: {
          summary: 'Disable a client',
          security: admin,
          parameters: idParam,
          responses: { '200': clientResponse, '404': errorResponse('not_found'), ...adminErrors },
        },
      },
      '/admin/v1/clients/{id}/enable': {
        post: {
          summary: 'Enable a client',
          security: admin,
          parameters: idParam,
          responses: { '200': clientResponse, '404': errorResponse('not_found'), ...adminErrors },
        },
      },
      '/admin/v1/clients/{id}/rotate-secret': {
        post: {
          summary: 'Issue a new secret; the previous one works for grace_seconds (default 86400)',
          security: admin,
          parameters: idParam,
          requestBody: {
            required: false,
            content: json({
              type: 'object',
              properties: { grace_seconds: { type: 'integer', minimum: 0 } },
            }),
          },
          responses: {
            '200': { description: 'The new secret, shown once' },
            '404': errorResponse('not_found'),
            ...adminErrors,
          },
        },
      },
      '/admin/v1/keys': {
        get: {
          summary: 'Signing keys and their states',
          security: admin,
          responses: { '200': { description: 'Keys' }, ...adminErrors },
        },
      },
      '/admin/v1/keys/rotate': {
        post: {
          summary: 'Publish a new signing key; it signs after propagation_seconds',
          security: admin,
          requestBody: {
            required: false,
            content: json({
              type: 'object',
              properties: {
                alg: { enum: ['RS256', 'ES256', 'EdDSA'] },
                propagation_seconds: { type: 'integer' },
              },
            }),
          },
          responses: { '201': { description: 'The published key' }, ...adminErrors },
        },
      },
      '/admin/v1/audit': {
        get: {
          summary: 'Audit trail, newest first',
          security: admin,
          parameters: [
            {
              name: 'limit',
              in: 'query',
              required: false,
              schema: { type: 'integer', minimum: 1, maximum: 10000 },
            },
          ],
          responses: { '200': { description: 'Entries' }, ...adminErrors },
        },
      },
      '/admin/v1/activity': {
        get: {
          summary:
            'Tokens issued and failed client authentications per second over the last 15 minutes (this process)',
          security: admin,
          parameters: [
            {
              name: 'client_id',
              in: 'query',
              required: false,
              schema: { type: 'string' },
              description: 'One client; all clients when absent',
            },
          ],
          responses: {
            '200': {
              description: '900 per-second counts, oldest first, ending at end',
              content: json({
                type: 'object',
                properties: {
                  client_id: { type: ['string', 'null'] },
                  interval_seconds: { const: 1 },
                  start: { type: 'string', format: 'date-time' },
                  end: { type: 'string', format: 'date-time' },
                  issued: { type: 'array', items: { type: 'integer' } },
                  auth_failures: { type: 'array', items: { type: 'integer' } },
                  totals: {
                    type: 'object',
                    properties: {
                      issued: { type: 'integer' },
                      auth_failures: { type: 'integer' },
                    },
                  },
                },
              }),
            },
            '400': errorResponse('invalid_request'),
            ...adminErrors,
          },
        },
      },
      '/admin/v1/activity/clients': {
        get: {
          summary:
            'Per-client tokens issued, failed authentications and last use over 24 hours (this process, the 10000 most recently active clients)',
          security: admin,
          responses: {
            '200': {
              description: 'Clients with activity',
              content: json({
                type: 'object',
                properties: {
                  window_seconds: { const: 86400 },
                  clients: {
                    type: 'array',
                    items: {
                      type: 'object',
                      properties: {
                        client_id: { type: 'string' },
                        tokens_issued_24h: { type: 'integer' },
                        auth_failures_24h: { type: 'integer' },
                        last_used_at: { type: ['string', 'null'], format: 'date-time' },
                      },
                    },
                  },
                },
              }),
            },
            ...adminErrors,
          },
        },
      },
      '/metrics': {
        get: {
          summary: 'Prometheus metrics (text exposition format 0.0.4)',
          responses: { '200': { description: 'Metrics', content: { 'text/plain': {} } } },
        },
      },
      '/console': {
        get: {
          summary: 'The admin console (HTML); signs in with an admin client at /oauth/token',
          responses: { '200': { description: 'The console page', content: { 'text/html': {} } } },
        },
      },
      '/console/{asset}': {
        get: {
          summary: "The console's static files (index.html, console.css, console.js, favicon.svg)",
          parameters: [{ name: 'asset', in: 'path', required: true, schema: { type: 'string' } }],
          responses: {
            '200': { description: 'The file' },
            '404': errorResponse('not_found'),
          },
        },
      },
    },
    components: {
      securitySchemes: {
        clientSecretBasic: {
          type: 'http',
          scheme: 'basic',
          description: 'client_id:client_secret, each form-urlencoded (RFC 6749 §2.3.1)',
        },
        clientSecretPost: {
          type: 'apiKey',
          in: 'query',
          name: 'client_secret',
          description: 'client_id and client_secret in the request body (never the query)',
        },
        adminToken: {
          type: 'oauth2',
          flows: {
            clientCredentials: {
              tokenUrl: `${issuer}/oauth/token`,
              scopes: { 'tessera:admin': 'Manage clients and keys' },
            },
          },
        },
      },
      schemas: {
        OAuthError: {
          type: 'object',
          properties: { error: { type: 'string' }, error_description: { type: 'string' } },
          required: ['error'],
        },
        TokenResponse: {
          type: 'object',
          properties: {
            access_token: { type: 'string' },
            token_type: { const: 'Bearer' },
            expires_in: { type: 'integer' },
            scope: { type: 'string' },
          },
          required: ['access_token', 'token_type', 'expires_in'],
        },
        Introspection: {
          type: 'object',
          properties: {
            active: { type: 'boolean' },
            scope: { type: 'string' },
            client_id: { type: 'string' },
            sub: { type: 'string' },
            aud: { oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] },
            iss: { type: 'string' },
            exp: { type: 'integer' },
            iat: { type: 'integer' },
            jti: { type: 'string' },
            token_type: { type: 'string' },
          },
          required: ['active'],
        },
        JwkSet: {
          type: 'object',
          properties: { keys: { type: 'array', items: { type: 'object' } } },
          required: ['keys'],
        },
        ClientInput: {
          type: 'object',
          properties: {
            name: { type: 'string' },
            scope: { type: 'string' },
            audience: { oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] },
            token_ttl: { type: ['integer', 'null'] },
            auth_method: { enum: [...registeredAuthMethods] },
            client_id: { type: 'string', description: 'Import only' },
            client_secret: { type: 'string', description: 'Import only' },
            jwks: { $ref: '#/components/schemas/JwkSet' },
            jwks_uri: { type: 'string', format: 'uri', description: 'private_key_jwt (RFC 7591)' },
            tls_client_auth_subject_dn: {
              type: 'string',
              description: 'tls_client_auth (RFC 8705)',
            },
            tls_client_auth_san_dns: { type: 'string', description: 'tls_client_auth (RFC 8705)' },
            certificates: {
              type: 'array',
              items: { type: 'string' },
              description: 'self_signed_tls_client_auth: PEM certificates',
            },
            dpop_bound_access_tokens: { type: 'boolean', description: 'RFC 9449 §5.2' },
          },
        },
        Client: {
          type: 'object',
          properties: {
            client_id: { type: 'string' },
            client_secret: { type: 'string', description: 'Only when just created' },
            name: { type: 'string' },
            status: { enum: ['active', 'disabled'] },
            scope: { type: 'string' },
            audience: { type: 'array', items: { type: 'string' } },
            token_ttl: { type: ['integer', 'null'] },
            auth_method: { type: 'string' },
            jwks: { $ref: '#/components/schemas/JwkSet' },
            jwks_uri: { type: 'string' },
            tls_client_auth_subject_dn: { type: 'string' },
            tls_client_auth_san_dns: { type: 'string' },
            dpop_bound_access_tokens: { type: 'boolean' },
            grant_types: { type: 'array', items: { type: 'string' } },
            created_at: { type: 'string', format: 'date-time' },
            updated_at: { type: 'string', format: 'date-time' },
            secrets: {
              type: 'array',
              items: {
                type: 'object',
                properties: {
                  id: { type: 'string' },
                  created_at: { type: 'string' },
                  expires_at: { type: ['string', 'null'] },
                  last_used_at: { type: ['string', 'null'] },
                },
              },
            },
          },
        },
      },
    },
  };
}

export function registerOpenApi(app: FastifyInstance, context: TesseraContext): void {
  app.get('/openapi.json', async () => openApiDocument(context.config.issuer));
}

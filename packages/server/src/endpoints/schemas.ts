import { registeredAuthMethods } from '../store/contract.js';
import { ref, stringOrList, type JsonSchema } from './endpoint.js';

const dateTime = { type: 'string', format: 'date-time' };
const nullableDateTime = { type: ['string', 'null'], format: 'date-time' };

/** The schemas endpoints share, as `#/components/schemas/…` of /openapi.json. */
export const sharedSchemas: Readonly<Record<string, JsonSchema>> = {
  OAuthError: {
    type: 'object',
    properties: { error: { type: 'string' }, error_description: { type: 'string' } },
    required: ['error'],
  },
  TokenResponse: {
    type: 'object',
    properties: {
      access_token: { type: 'string' },
      // RFC 9449 §5: DPoP-bound tokens are of type DPoP.
      token_type: { enum: ['Bearer', 'DPoP'] },
      expires_in: { type: 'integer' },
      scope: { type: 'string' },
    },
    required: ['access_token', 'token_type', 'expires_in'],
    additionalProperties: false,
  },
  Introspection: {
    type: 'object',
    properties: {
      active: { type: 'boolean' },
      scope: { type: 'string' },
      client_id: { type: 'string' },
      sub: { type: 'string' },
      aud: stringOrList,
      iss: { type: 'string' },
      exp: { type: 'integer' },
      iat: { type: 'integer' },
      jti: { type: 'string' },
      token_type: { enum: ['Bearer', 'DPoP'] },
      cnf: { type: 'object' },
    },
    required: ['active'],
    additionalProperties: false,
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
      audience: stringOrList,
      token_ttl: { type: ['integer', 'null'] },
      auth_method: { enum: [...registeredAuthMethods] },
      client_id: { type: 'string', description: 'Import only' },
      client_secret: { type: 'string', description: 'Import only' },
      jwks: ref('JwkSet'),
      jwks_uri: { type: 'string', format: 'uri', description: 'private_key_jwt (RFC 7591)' },
      tls_client_auth_subject_dn: { type: 'string', description: 'tls_client_auth (RFC 8705)' },
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
      auth_method: { enum: [...registeredAuthMethods] },
      jwks: ref('JwkSet'),
      jwks_uri: { type: 'string' },
      tls_client_auth_subject_dn: { type: 'string' },
      tls_client_auth_san_dns: { type: 'string' },
      certificates: { type: 'array', items: { type: 'string' } },
      dpop_bound_access_tokens: { type: 'boolean' },
      grant_types: { type: 'array', items: { type: 'string' } },
      created_at: dateTime,
      updated_at: dateTime,
      secrets: { type: 'array', items: ref('Secret') },
    },
    required: ['client_id', 'name', 'status', 'scope', 'audience', 'auth_method'],
  },
  Secret: {
    type: 'object',
    properties: {
      id: { type: 'string' },
      created_at: dateTime,
      expires_at: nullableDateTime,
      last_used_at: nullableDateTime,
    },
    required: ['id', 'created_at'],
  },
  Key: {
    type: 'object',
    properties: {
      kid: { type: 'string' },
      alg: { enum: ['RS256', 'ES256', 'EdDSA'] },
      state: { enum: ['published', 'active', 'retiring', 'retired'] },
      created_at: dateTime,
      activates_at: nullableDateTime,
      retires_at: nullableDateTime,
    },
    required: ['kid', 'alg', 'state'],
  },
  AuditEntry: {
    type: 'object',
    properties: {
      id: { type: ['integer', 'string'] },
      at: dateTime,
      actor: { type: 'string' },
      action: { type: 'string' },
      target: { type: ['string', 'null'] },
      details: {},
    },
    required: ['at', 'actor', 'action'],
  },
};

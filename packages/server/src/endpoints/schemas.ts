import { signingAlgorithms } from '@tessera/protocol';
import { registeredAuthMethods } from '../store/contract.js';
import { tenantSchemas } from './admin/admin-tenants.js';
import { dateTime, int, list, nullable, object, ref, str, stringOrList } from './endpoint.js';

const tokenType = { enum: ['Bearer', 'DPoP'] };
const authMethod = { enum: [...registeredAuthMethods] };
const bool = { type: 'boolean' };
const closed = <T extends object>(schema: T) => ({ ...schema, additionalProperties: false });
const open = <T extends object>(schema: T) => ({
  ...schema,
  additionalProperties: { description: 'An extra claim of the token (issue 19)' },
});
/** Issue 19: a client's extra token claims. */
const claims = {
  type: 'object',
  description:
    'Extra claims in every token of the client; not iss, sub, aud, exp, nbf, iat, jti, client_id, scope, cnf, auth_time or acr; at most 4096 bytes serialised',
};
/** The client metadata of the non-secret methods and DPoP (RFC 7591, RFC 8705, RFC 9449). */
const authConfig = {
  jwks: ref('JwkSet'),
  jwks_uri: { ...str, format: 'uri', description: 'private_key_jwt (RFC 7591)' },
  tls_client_auth_subject_dn: { ...str, description: 'tls_client_auth (RFC 8705)' },
  tls_client_auth_san_dns: { ...str, description: 'tls_client_auth (RFC 8705)' },
  dpop_bound_access_tokens: { ...bool, description: 'RFC 9449 §5.2' },
  // Issue 25: secretless (federated) clients.
  federated_issuer: { ...str, description: 'federated: the trusted issuer (iss, exact)' },
  federated_subject: { ...str, description: 'federated: the workload sub, exact' },
  federated_audience: { ...str, description: 'federated: aud (default: the issuer)' },
  federated_jwks_uri: { ...str, format: 'uri', description: 'federated: instead of discovery' },
};

/** Issue 22: per-client token quota and token reuse. */
const quotaFields = {
  token_quota: {
    ...nullable(str),
    description: 'Tokens allowed per window: N/PERIOD[,N/PERIOD…], PERIOD s, min, h or d',
  },
  reuse_tokens: { ...bool, description: 'Answer a still-fresh token again' },
};

/** The schemas endpoints share, as `#/components/schemas/…` of /openapi.json. */
export const sharedSchemas = {
  OAuthError: object({ error: str }, { error_description: str }),
  // RFC 6749 §5.1; RFC 9449 §5: DPoP-bound tokens are of type DPoP.
  TokenResponse: closed(
    object({ access_token: str, token_type: tokenType, expires_in: int }, { scope: str }),
  ),
  // RFC 7662 §2.2: an inactive token is `{active: false}` and nothing else. An active one
  // also carries the token's extra claims (the client's, its scopes', the token hook's).
  Introspection: open(
    object(
      { active: bool },
      {
        ...{ scope: str, client_id: str, sub: str, aud: stringOrList, iss: str, exp: int },
        ...{ iat: int, jti: str, token_type: tokenType, cnf: { type: 'object' } },
      },
    ),
  ),
  JwkSet: object({ keys: list({ type: 'object' }) }),
  ClientInput: object(
    {},
    {
      ...{ name: str, scope: str, audience: stringOrList, token_ttl: nullable(int) },
      auth_method: authMethod,
      client_id: { ...str, description: 'Import only' },
      client_secret: { ...str, description: 'Import only' },
      ...authConfig,
      certificates: { ...list(str), description: 'self_signed_tls_client_auth: PEM' },
      profile: { enum: ['fapi2', 'none', null], description: 'FAPI 2.0 (issue 25)' },
      claims,
      ...quotaFields,
    },
  ),
  Client: object(
    {
      ...{ client_id: str, name: str, status: { enum: ['active', 'disabled'] }, scope: str },
      ...{ audience: list(str), token_ttl: nullable(int), auth_method: authMethod },
      ...{ grant_types: list(str), created_at: dateTime, updated_at: dateTime },
    },
    {
      client_secret: { ...str, description: 'Only when just created' },
      secrets: list(ref('Secret')),
      ...authConfig,
      profile: { enum: ['fapi2'], description: 'FAPI 2.0 (issue 25); absent for none' },
      claims,
      ...quotaFields,
    },
  ),
  Secret: object({
    ...{ id: str, created_at: dateTime },
    ...{ expires_at: nullable(dateTime), last_used_at: nullable(dateTime) },
  }),
  Key: object({
    ...{ kid: str, alg: { enum: [...signingAlgorithms] }, created_at: dateTime },
    state: { enum: ['published', 'active', 'retiring', 'retired'] },
    ...{ activates_at: nullable(dateTime), retires_at: nullable(dateTime) },
  }),
  // Issue 22: GET /admin/v1/clients/{id}/usage.
  ClientUsage: closed(
    object({
      client_id: str,
      token_quota: nullable(str),
      windows: list(
        closed(
          object({
            period: { enum: ['s', 'min', 'h', 'd'] },
            limit: int,
            used: int,
            resets_at: dateTime,
          }),
        ),
      ),
    }),
  ),
  AuditEntry: object({
    ...{ id: int, at: dateTime, actor: str, action: str },
    ...{ target: nullable(str), details: { type: 'object' } },
    // Who, from where, in which request (issue 20): a person's issuer, subject and email.
    person: nullable(object({ iss: str, sub: str }, { email: str })),
    ...{ source_address: nullable(str), request_id: nullable(str) },
  }),
  // Issue 21: the tenant routes' (endpoints/admin/admin-tenants.ts).
  ...tenantSchemas,
};

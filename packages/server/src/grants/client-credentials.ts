import { OAuthError, formatScope, parseScope, type AccessTokenClaims } from '@tessera/protocol';
import { randomId128 } from '../lib/random-id.js';
import type { Params } from '../http/parse-params.js';
import type { ClientRecord } from '../store/contract.js';
import { adminAudience, isAdminScope } from '../tokens/admin-audience.js';

export const clientCredentialsGrant = 'client_credentials';

export interface GrantContext {
  issuer: string;
  /** `aud` for a client registered without audiences. */
  defaultAudience: string;
  defaultTokenTtl: number;
  nowSeconds: number;
}

export interface GrantResult {
  claims: AccessTokenClaims;
  expiresIn: number;
  scope: string[];
}

/**
 * RFC 6749 §4.4 for an already authenticated client: resolves scope (§3.3) and audience
 * (RFC 8707 `resource`, or the widely used `audience` parameter) into RFC 9068 claims.
 */
export function clientCredentials(
  client: ClientRecord,
  params: Params,
  context: GrantContext,
): GrantResult {
  if (!client.grantTypes.includes(clientCredentialsGrant)) {
    throw new OAuthError(
      'unauthorized_client',
      'The client is not allowed to use the client_credentials grant',
    );
  }
  const scope = resolveScope(client, params.get('scope'));
  const audience = resolveAudience(client, params, scope, context);
  const expiresIn = client.tokenTtl ?? context.defaultTokenTtl;
  const iat = context.nowSeconds;
  const claims: AccessTokenClaims = {
    iss: context.issuer,
    sub: client.clientId,
    aud: audience,
    exp: iat + expiresIn,
    iat,
    jti: randomId128(),
    client_id: client.clientId,
  };
  if (scope.length > 0) claims.scope = formatScope(scope);
  return { claims, expiresIn, scope };
}

function resolveScope(client: ClientRecord, requested: string | undefined): string[] {
  if (requested === undefined) return client.scopes;
  const scopes = parseScope(requested);
  if (scopes === undefined)
    throw new OAuthError(
      'invalid_scope',
      'The scope parameter has characters RFC 6749 does not allow',
    );
  if (scopes.length === 0) return client.scopes;
  const refused = scopes.filter((scope) => !client.scopes.includes(scope));
  if (refused.length > 0) {
    throw new OAuthError(
      'invalid_scope',
      `The client may not request the scope: ${formatScope(refused)}`,
    );
  }
  return scopes;
}

function resolveAudience(
  client: ClientRecord,
  params: Params,
  scope: readonly string[],
  context: GrantContext,
): string | string[] {
  const resource = params.get('resource');
  const audience = params.get('audience');
  if (resource !== undefined && audience !== undefined) {
    throw new OAuthError('invalid_request', 'Send either resource or audience, not both');
  }
  const requested = resource ?? audience;
  const admin = adminAudience(context.issuer);
  if (requested === undefined) {
    // An admin token is for the admin API alone (see tokens/admin-audience.ts).
    if (scope.some(isAdminScope)) return admin;
    if (client.audiences.length === 0) return context.defaultAudience;
    return client.audiences.length === 1 ? client.audiences[0]! : [...client.audiences];
  }
  if (resource !== undefined && !isAbsoluteUri(resource)) {
    throw new OAuthError(
      'invalid_target',
      'The resource parameter must be an absolute URI without a fragment',
    );
  }
  const mayAskAdmin = requested === admin && client.scopes.some(isAdminScope);
  if (!mayAskAdmin && !client.audiences.includes(requested)) {
    throw new OAuthError('invalid_target', 'The client may not request a token for this resource');
  }
  return requested;
}

function isAbsoluteUri(value: string): boolean {
  try {
    return new URL(value).hash === '' && !value.includes('#');
  } catch {
    return false;
  }
}

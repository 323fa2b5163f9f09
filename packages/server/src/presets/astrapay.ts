import { astrapayProvider, sanitizeErrorDescription, type OAuthError } from '@tessera/protocol';
import { ParameterError } from './parameter-error.js';
import type { ErrorReply, ErrorShapeContext, Preset } from './preset.js';

/**
 * AstraPay's documented error descriptions ("Common Errors"), answered word for word; codes,
 * statuses and headers stay RFC 6749 §5.2. Undocumented errors keep Tessera's RFC bodies.
 */
export function astrapayErrorShape(error: OAuthError, { params }: ErrorShapeContext): ErrorReply {
  const reply = (code: string, description: string): ErrorReply => ({
    status: error.status,
    headers: error.headers,
    body: { error: code, error_description: description },
  });
  const about = error instanceof ParameterError ? error.parameter : undefined;
  // A missing grant_type gets the same answer as a wrong one ("Make sure that
  // grant_type:client_credentials is being provided").
  if (error.error === 'unsupported_grant_type' || about === 'grant_type')
    return reply('unsupported_grant_type', 'GrantType not supported.');
  if (error.error === 'invalid_client')
    return reply('invalid_client', 'Invalid credentials format.');
  if (error.error === 'invalid_scope') {
    const requested = sanitizeErrorDescription(params?.get('scope') ?? '');
    return reply(
      'invalid_scope',
      `Client does not have authorization to request the scope: ${requested}`,
    );
  }
  if (about === 'scope' && params?.has('scope') !== true)
    return reply('invalid_request', 'Scope parameter not provided.');
  return { status: error.status, headers: error.headers, body: error.toJSON() };
}

/**
 * AstraPay ("Client Credentials Flow"): `POST /oauth/v1/token`, urlencoded `grant_type`,
 * `client_id`, `client_secret` (often UUIDs) and a required `scope`. The lifetime is not
 * documented (only "as indicated by expires_in"): 3600 s, Tessera's default. HTTP Basic is
 * not shown but RFC 6749 §2.3.1 requires it, so it is accepted.
 */
export const astrapay: Preset = {
  name: astrapayProvider.name,
  tokenPath: astrapayProvider.tokenPath,
  authMethods: ['client_secret_post', 'client_secret_basic'],
  bodyTypes: ['urlencoded'],
  requiredParams: ['scope'],
  defaultTokenTtl: 3600,
  hosts: astrapayProvider.hosts,
  errorShape: astrapayErrorShape,
};

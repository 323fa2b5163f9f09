import { OAuthError, type OAuthErrorCode } from '@tessera/protocol';
import type { TesseraContext } from '../../context.js';
import { roleOfScopes, type AdminCaller } from './admin-roles.js';

export const adminScope = 'tessera:admin';
const realm = 'tessera-admin';

/**
 * RFC 6750 bearer authentication with Tessera's own access tokens: the admin API opens only
 * for an active token carrying an admin scope (`tessera:admin:read`, `tessera:admin:write` or
 * `tessera:admin`), from a client that still exists and is enabled. Returns the caller with
 * the role its scope grants; which role a route needs is checked after this (admin-roles.ts).
 */
export async function authenticateAdmin(
  context: Pick<TesseraContext, 'syncChanges' | 'inspector'>,
  header: string | undefined,
): Promise<AdminCaller> {
  // RFC 6750 §3: every refusal carries the Bearer challenge, with the error when there is one.
  const refuse = (code: OAuthErrorCode, description: string, status?: number, params = '') =>
    new OAuthError(code, description, {
      status,
      headers: { 'www-authenticate': `Bearer realm="${realm}"${params}` },
    });
  if (header === undefined || header === '')
    throw refuse(
      'invalid_request',
      `An access token with the ${adminScope} scope is required`,
      401,
    );
  const match = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(header);
  if (!match) {
    const description = 'The Authorization header must be Bearer <token>';
    throw refuse('invalid_request', description, 400, ', error="invalid_request"');
  }
  await context.syncChanges();
  const inspection = await context.inspector.inspect(match[1]!);
  if (!inspection.active) {
    const description =
      inspection.reason === 'expired'
        ? 'The access token expired'
        : 'The access token is not valid';
    const params = `, error="invalid_token", error_description="${description}"`;
    throw refuse('invalid_token', description, undefined, params);
  }
  const role = roleOfScopes((inspection.claims.scope ?? '').split(' '));
  if (role === undefined) {
    const description = `The access token lacks the ${adminScope} scope`;
    throw refuse(
      'insufficient_scope',
      description,
      undefined,
      `, error="insufficient_scope", scope="${adminScope}"`,
    );
  }
  const clientId = inspection.claims.client_id;
  return { actor: `admin-api:${clientId}`, clientId, role, bearer: true };
}

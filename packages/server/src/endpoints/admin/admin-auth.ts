import { OAuthError, type OAuthErrorCode } from '@tessera/protocol';
import type { TesseraContext } from '../../context.js';

export const adminScope = 'tessera:admin';
const realm = 'tessera-admin';

/**
 * RFC 6750 bearer authentication with Tessera's own access tokens: the admin API opens only
 * for an active token carrying the `tessera:admin` scope, from a client that still exists
 * and is enabled. Returns the caller's client_id (the audit log's actor).
 */
export async function authenticateAdmin(
  context: Pick<TesseraContext, 'syncChanges' | 'inspector'>,
  header: string | undefined,
): Promise<string> {
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
  if (!(inspection.claims.scope ?? '').split(' ').includes(adminScope)) {
    const description = `The access token lacks the ${adminScope} scope`;
    throw refuse(
      'insufficient_scope',
      description,
      undefined,
      `, error="insufficient_scope", scope="${adminScope}"`,
    );
  }
  return inspection.claims.client_id;
}

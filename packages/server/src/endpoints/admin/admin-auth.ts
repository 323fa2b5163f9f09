import { OAuthError } from '@tessera/protocol';
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
  if (header === undefined || header === '') {
    throw new OAuthError(
      'invalid_request',
      'An access token with the tessera:admin scope is required',
      {
        status: 401,
        headers: { 'www-authenticate': `Bearer realm="${realm}"` },
      },
    );
  }
  const match = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(header);
  if (!match) {
    throw new OAuthError('invalid_request', 'The Authorization header must be Bearer <token>', {
      status: 400,
      headers: { 'www-authenticate': `Bearer realm="${realm}", error="invalid_request"` },
    });
  }
  await context.syncChanges();
  const inspection = await context.inspector.inspect(match[1]!);
  if (!inspection.active) {
    const description =
      inspection.reason === 'expired'
        ? 'The access token expired'
        : 'The access token is not valid';
    throw new OAuthError('invalid_token', description, {
      headers: {
        'www-authenticate': `Bearer realm="${realm}", error="invalid_token", error_description="${description}"`,
      },
    });
  }
  const scopes = (inspection.claims.scope ?? '').split(' ');
  if (!scopes.includes(adminScope)) {
    throw new OAuthError('insufficient_scope', 'The access token lacks the tessera:admin scope', {
      headers: {
        'www-authenticate': `Bearer realm="${realm}", error="insufficient_scope", scope="${adminScope}"`,
      },
    });
  }
  return inspection.claims.client_id;
}

import { OAuthError } from '@tessera/protocol';
import type { AuthenticatedClient } from '../client-auth/authenticate-client.js';
import type { TesseraContext } from '../context.js';
import { noStoreHeaders } from '../http/error-reply.js';
import type { Params } from '../http/parse-params.js';
import { tokenParams, type AuthenticateClient, type Endpoint } from './endpoint.js';

export const revocationPath = '/oauth/revoke';

/** What revocation uses of the context. */
export type RevokeDeps = Pick<TesseraContext, 'inspector' | 'store' | 'revocations' | 'nowSeconds'>;

/**
 * RFC 7009 §2.1 for an authenticated client: revokes one of its own access tokens. Unknown,
 * expired, malformed and already revoked tokens succeed silently (§2.2).
 */
export async function revokeToken(
  deps: RevokeDeps,
  caller: AuthenticatedClient,
  params: Params,
): Promise<void> {
  const token = params.get('token');
  if (token === undefined)
    throw new OAuthError('invalid_request', 'The token parameter is missing');
  const hint = params.get('token_type_hint');
  if (hint !== undefined && hint !== 'access_token') {
    throw new OAuthError('unsupported_token_type', 'Only access tokens can be revoked');
  }
  const verified = await deps.inspector.verifySignature(token);
  if (!verified.active) return;
  const { claims } = verified;
  if (claims.client_id !== caller.client.clientId) {
    throw new OAuthError('invalid_request', 'The client may only revoke its own tokens');
  }
  const seq = await deps.store.addRevocation({
    jti: claims.jti,
    clientId: claims.client_id,
    expiresAt: claims.exp,
    revokedAt: deps.nowSeconds(),
  });
  deps.revocations.add({ jti: claims.jti, exp: claims.exp, clientId: claims.client_id, seq });
}

export function revocationEndpoint(deps: RevokeDeps, authenticate: AuthenticateClient): Endpoint {
  return {
    method: 'POST',
    paths: [revocationPath],
    summary: 'Revoke an access token (RFC 7009)',
    caller: 'client',
    body: 'params',
    kind: 'revoke',
    request: { body: tokenParams },
    responses: {
      200: { description: 'Revoked, or nothing to revoke' },
      400: 'invalid_request, unsupported_token_type',
      401: 'invalid_client',
    },
    async handle(request) {
      const params = request.params!;
      const caller = await authenticate(request, params);
      await revokeToken(deps, caller, params);
      return { status: 200, headers: noStoreHeaders };
    },
  };
}

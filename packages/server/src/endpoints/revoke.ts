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
 * RFC 7009 §2.1 for an authenticated client: revokes one of its own access tokens, whatever
 * `token_type_hint` says. Unknown,
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
  // RFC 7009 §2.1: token_type_hint is only a hint; a server that cannot find the token with
  // it searches every type it has. Tessera has access tokens alone, so the hint is ignored.
  const verified = await deps.inspector.verifySignature(token);
  if (!verified.active) return;
  const { claims } = verified;
  if (claims.client_id !== caller.client.clientId) {
    throw new OAuthError('invalid_request', 'The client may only revoke its own tokens');
  }
  let seq: number;
  try {
    seq = await deps.store.addRevocation({
      jti: claims.jti,
      clientId: claims.client_id,
      expiresAt: claims.exp,
      revokedAt: deps.nowSeconds(),
    });
  } catch (error) {
    // The answer must match what was committed (issue 16): a write error may come after the
    // commit (a full disk refusing what follows it). Read back; committed means revoked.
    if (!(await committedAnyway(deps, claims.jti))) throw error;
    return;
  }
  deps.revocations.add({ jti: claims.jti, exp: claims.exp, clientId: claims.client_id, seq });
}

/**
 * After a failed write: applies the revocations committed since the list's cursor (reads
 * work on a full disk) and says whether `jti` is among them. False when even that fails.
 */
async function committedAnyway(deps: RevokeDeps, jti: string): Promise<boolean> {
  try {
    deps.revocations.apply(await deps.store.listRevocations(deps.revocations.cursor));
  } catch {
    return false;
  }
  return deps.revocations.has(jti);
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
      400: 'invalid_request',
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

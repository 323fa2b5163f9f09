import { OAuthError } from '@tessera/protocol';
import type { FastifyInstance } from 'fastify';
import { authenticateRequest } from '../client-auth/authenticate-request.js';
import type { AuthenticatedClient } from '../client-auth/authenticate-client.js';
import type { TesseraContext } from '../context.js';
import { noStoreHeaders } from '../http/error-reply.js';
import type { Params } from '../http/parse-params.js';

export const revocationPath = '/oauth/revoke';

/**
 * RFC 7009 §2.1 for an authenticated client: revokes one of its own access tokens. Unknown,
 * expired, malformed and already revoked tokens succeed silently (§2.2).
 */
export async function revokeToken(
  context: TesseraContext,
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
  const verified = await context.inspector.verifySignature(token);
  if (!verified.active) return;
  const { claims } = verified;
  if (claims.client_id !== caller.client.clientId) {
    throw new OAuthError('invalid_request', 'The client may only revoke its own tokens');
  }
  const seq = await context.store.addRevocation({
    jti: claims.jti,
    clientId: claims.client_id,
    expiresAt: claims.exp,
    revokedAt: context.nowSeconds(),
  });
  context.revocations.add({ jti: claims.jti, exp: claims.exp, clientId: claims.client_id, seq });
}

export function registerRevocationEndpoint(app: FastifyInstance, context: TesseraContext): void {
  app.post(revocationPath, async (request, reply) => {
    const params = (request.body as Params | undefined) ?? new Map<string, string>();
    const caller = await authenticateRequest(context, request, params);
    await revokeToken(context, caller, params);
    return reply.code(200).headers(noStoreHeaders).send();
  });
}

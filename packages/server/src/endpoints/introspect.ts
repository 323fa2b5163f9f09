import { OAuthError, type IntrospectionResponse } from '@tessera/protocol';
import type { FastifyInstance } from 'fastify';
import {
  authenticateRequest,
  requireIntrospectScope,
} from '../client-auth/authenticate-request.js';
import type { TesseraContext } from '../context.js';
import { noStoreHeaders } from '../http/error-reply.js';
import type { Params } from '../http/parse-params.js';

export const introspectionPath = '/oauth/introspect';

/** RFC 7662 §2.2: the token's claims when active; otherwise `{active: false}` and nothing else. */
export async function introspect(
  context: TesseraContext,
  token: string,
): Promise<IntrospectionResponse> {
  const inspection = await context.inspector.inspect(token);
  if (!inspection.active) return { active: false };
  const { claims } = inspection;
  return {
    active: true,
    ...(claims.scope === undefined ? {} : { scope: claims.scope }),
    client_id: claims.client_id,
    sub: claims.sub,
    aud: claims.aud,
    iss: claims.iss,
    exp: claims.exp,
    iat: claims.iat,
    jti: claims.jti,
    token_type: claims.cnf?.jkt ? 'DPoP' : 'Bearer',
    ...(claims.cnf ? { cnf: claims.cnf } : {}),
  } as IntrospectionResponse;
}

export function registerIntrospectionEndpoint(app: FastifyInstance, context: TesseraContext): void {
  app.post(introspectionPath, async (request, reply) => {
    const params = (request.body as Params | undefined) ?? new Map<string, string>();
    const caller = await authenticateRequest(context, request, params);
    requireIntrospectScope(caller);
    const token = params.get('token');
    if (token === undefined)
      throw new OAuthError('invalid_request', 'The token parameter is missing');
    return reply.headers(noStoreHeaders).send(await introspect(context, token));
  });
}

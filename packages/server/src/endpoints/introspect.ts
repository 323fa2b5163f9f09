import { OAuthError, type IntrospectionResponse } from '@tessera/protocol';
import { isReservedClaim } from '../claims/extra-claims.js';
import { requireIntrospectScope } from '../client-auth/authenticate-request.js';
import type { TesseraContext } from '../context.js';
import { noStoreHeaders } from '../http/error-reply.js';
import { json, ref, tokenParams, type AuthenticateClient, type Endpoint } from './endpoint.js';

export const introspectionPath = '/oauth/introspect';

/** RFC 7662 §2.2: the token's claims when active; otherwise `{active: false}` and nothing else. */
export async function introspect(
  deps: Pick<TesseraContext, 'inspector'>,
  token: string,
): Promise<IntrospectionResponse> {
  const inspection = await deps.inspector.inspect(token);
  if (!inspection.active) return { active: false };
  const { claims } = inspection;
  const answer: Record<string, unknown> = {
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
  };
  // The token's extra claims (issue 19): the client's, its scopes', the token hook's.
  for (const name in claims) {
    if (!isReservedClaim(name) && !(name in answer))
      answer[name] = (claims as unknown as Record<string, unknown>)[name];
  }
  return answer as IntrospectionResponse;
}

export function introspectionEndpoint(
  deps: Pick<TesseraContext, 'inspector'>,
  authenticate: AuthenticateClient,
): Endpoint {
  return {
    method: 'POST',
    paths: [introspectionPath],
    summary: 'Introspect an access token (RFC 7662); needs the tessera:introspect scope',
    caller: 'client',
    body: 'params',
    kind: 'introspect',
    request: { body: tokenParams },
    responses: {
      200: json('Token state', ref('Introspection')),
      400: 'invalid_request',
      401: 'invalid_client',
      403: 'The client lacks the tessera:introspect scope',
    },
    async handle(request) {
      const params = request.params!;
      requireIntrospectScope(await authenticate(request, params));
      const token = params.get('token');
      if (token === undefined)
        throw new OAuthError('invalid_request', 'The token parameter is missing');
      return { status: 200, headers: noStoreHeaders, body: await introspect(deps, token) };
    },
  };
}

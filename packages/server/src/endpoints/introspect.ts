import { OAuthError, type IntrospectionResponse } from '@tessera/protocol';
import { isReservedClaim } from '../claims/extra-claims.js';
import { requireIntrospectScope } from '../client-auth/authenticate-request.js';
import type { TesseraContext } from '../context.js';
import { noStoreHeaders } from '../http/error-reply.js';
import { json, ref, tokenParams, type AuthenticateClient, type Endpoint } from './endpoint.js';

export const introspectionPath = '/oauth/introspect';
/** RFC 9701 §4: the media type of a JWT-secured introspection response (and its `typ`). */
export const introspectionJwtType = 'token-introspection+jwt';
const introspectionJwtMediaType = `application/${introspectionJwtType}`;

type SignedIntrospectionDeps = Pick<TesseraContext, 'inspector' | 'keys' | 'config' | 'nowSeconds'>;

/** Whether the caller asked for RFC 9701's signed answer (and did not refuse it with q=0). */
export function wantsSignedIntrospection(accept: string | undefined): boolean {
  if (accept === undefined) return false;
  return accept.split(',').some((range) => {
    const [type, ...parameters] = range.split(';').map((part) => part.trim().toLowerCase());
    const q = parameters.find((parameter) => parameter.startsWith('q='));
    return type === introspectionJwtMediaType && (q === undefined || Number(q.slice(2)) > 0);
  });
}

/**
 * RFC 9701 §5: the introspection answer as a JWT signed with the server's active key:
 * `typ: token-introspection+jwt`, `iss` the issuer, `aud` the caller's client_id, `iat`, and
 * the RFC 7662 answer under `token_introspection`. Not encrypted (no resource server keys
 * are registered for it).
 */
export async function signedIntrospection(
  deps: SignedIntrospectionDeps,
  answer: IntrospectionResponse,
  callerClientId: string,
): Promise<string> {
  const signer = deps.keys.signer(deps.config.signingAlg);
  if (!signer)
    throw new OAuthError('temporarily_unavailable', 'No signing key is active', { status: 503 });
  return signer.sign(
    {
      iss: deps.config.issuer,
      aud: callerClientId,
      iat: deps.nowSeconds(),
      token_introspection: answer,
    },
    introspectionJwtType,
  );
}

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
  deps: SignedIntrospectionDeps,
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
      200: {
        ...json('Token state', ref('Introspection')),
        description: `Token state; with Accept: ${introspectionJwtMediaType}, a signed JWT (RFC 9701)`,
      },
      400: 'invalid_request',
      401: 'invalid_client',
      403: 'The client lacks the tessera:introspect scope',
    },
    async handle(request) {
      const params = request.params!;
      const caller = await authenticate(request, params);
      requireIntrospectScope(caller);
      const token = params.get('token');
      if (token === undefined)
        throw new OAuthError('invalid_request', 'The token parameter is missing');
      const answer = await introspect(deps, token);
      if (!wantsSignedIntrospection(request.raw.headers.accept))
        return { status: 200, headers: noStoreHeaders, body: answer };
      return {
        status: 200,
        headers: { ...noStoreHeaders, 'content-type': introspectionJwtMediaType },
        body: await signedIntrospection(deps, answer, caller.client.clientId),
      };
    },
  };
}

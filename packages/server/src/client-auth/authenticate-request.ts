import { OAuthError } from '@tessera/protocol';
import type { TesseraContext } from '../context.js';
import type { FastifyRequest } from 'fastify';
import { requestCertificate } from '../dpop/sender-binding.js';
import type { Params } from '../http/parse-params.js';
import { presentedCredentials, type AuthenticatedClient } from './authenticate-client.js';
import { requestSourceAddress } from './source-address.js';

/** The scope a client needs to introspect tokens and follow the revocation feed. */
export const introspectScope = 'tessera:introspect';

/** Client authentication as at the token endpoint, for the revocation and introspection endpoints. */
export async function authenticateRequest(
  context: TesseraContext,
  request: FastifyRequest,
  params: Params,
  options: {
    /** Only credentials in the body count (a preset's revoke call, e.g. Tesouro's JSON body). */
    bodyOnly?: boolean;
  } = {},
): Promise<AuthenticatedClient> {
  await context.syncChanges();
  // mTLS clients authenticate with their certificate here too (RFC 8705 §2 covers every
  // endpoint that takes client authentication).
  const certificate = options.bodyOnly ? undefined : requestCertificate(context, request.raw);
  const authorization = options.bodyOnly ? undefined : request.headers.authorization;
  const authenticated = await context.authenticator.authenticate(
    presentedCredentials(authorization, params, certificate),
    requestSourceAddress(context, request.raw),
  );
  if (authenticated.secretId !== undefined) {
    context.secretUsage.record(
      authenticated.client.clientId,
      authenticated.secretId,
      context.nowSeconds(),
    );
  }
  return authenticated;
}

/** RFC 7662 §2.3: an authenticated caller that may not introspect gets 403. */
export function requireIntrospectScope({ client }: AuthenticatedClient): void {
  if (!client.scopes.includes(introspectScope)) {
    throw new OAuthError('insufficient_scope', `The client needs the ${introspectScope} scope`, {
      status: 403,
    });
  }
}

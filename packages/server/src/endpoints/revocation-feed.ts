import { OAuthError } from '@tessera/protocol';
import { requireIntrospectScope } from '../client-auth/authenticate-request.js';
import type { TesseraContext } from '../context.js';
import { noStoreHeaders } from '../http/error-reply.js';
import { int, json, list, object, str } from './endpoint.js';
import type { AuthenticateClient, Endpoint } from './endpoint.js';

export const revocationFeedPath = '/oauth/revocations';

/**
 * Revoked token ids for verifiers that check revocation locally: `GET ?since=CURSOR` answers
 * `{revocations: [{jti, exp}], cursor}` from memory. Without `since`, every revocation whose
 * token has not expired. Callers authenticate like at introspection (scope tessera:introspect).
 */
export function revocationFeedEndpoint(
  deps: Pick<TesseraContext, 'revocations' | 'nowSeconds'>,
  authenticate: AuthenticateClient,
): Endpoint {
  return {
    method: 'GET',
    paths: [revocationFeedPath],
    summary: 'Revoked token ids since a cursor, for verifiers; needs the tessera:introspect scope',
    caller: 'client',
    kind: 'feed',
    request: { query: object({}, { since: str }) },
    responses: {
      200: json(
        'Revocations after the cursor',
        object({ revocations: list(object({ jti: str, exp: int })), cursor: str }),
      ),
      400: 'invalid_request',
      401: 'invalid_client',
      403: 'The client lacks the tessera:introspect scope',
    },
    async handle(request) {
      const query = request.query ?? {};
      requireIntrospectScope(await authenticate(request, new Map()));
      const since = query.since === undefined ? 0 : Number(query.since);
      if (
        typeof query.since !== 'undefined' &&
        (typeof query.since !== 'string' || !/^\d{1,15}$/.test(query.since))
      ) {
        throw new OAuthError('invalid_request', 'since must be a cursor from an earlier answer');
      }
      const entries = deps.revocations.since(since, deps.nowSeconds());
      return {
        status: 200,
        headers: noStoreHeaders,
        body: {
          revocations: entries.map((entry) => ({ jti: entry.jti, exp: entry.exp })),
          cursor: String(Math.max(since, deps.revocations.cursor)),
        },
      };
    },
  };
}

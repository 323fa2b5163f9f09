import { OAuthError } from '@tessera/protocol';
import type { FastifyInstance } from 'fastify';
import {
  authenticateRequest,
  requireIntrospectScope,
} from '../client-auth/authenticate-request.js';
import type { TesseraContext } from '../context.js';
import { noStoreHeaders } from '../http/error-reply.js';

export const revocationFeedPath = '/oauth/revocations';

/**
 * Revoked token ids for verifiers that check revocation locally: `GET ?since=CURSOR` answers
 * `{revocations: [{jti, exp}], cursor}` from memory. Without `since`, every revocation whose
 * token has not expired. Callers authenticate like at introspection (scope tessera:introspect).
 */
export function registerRevocationFeed(app: FastifyInstance, context: TesseraContext): void {
  app.get(revocationFeedPath, async (request, reply) => {
    const query = request.query as Record<string, unknown>;
    const caller = await authenticateRequest(context, request, new Map());
    requireIntrospectScope(caller);
    const since = query.since === undefined ? 0 : Number(query.since);
    if (
      typeof query.since !== 'undefined' &&
      (typeof query.since !== 'string' || !/^\d{1,15}$/.test(query.since))
    ) {
      throw new OAuthError('invalid_request', 'since must be a cursor from an earlier answer');
    }
    const now = context.nowSeconds();
    const entries = context.revocations.since(since, now);
    return reply.headers(noStoreHeaders).send({
      revocations: entries.map((entry) => ({ jti: entry.jti, exp: entry.exp })),
      cursor: String(Math.max(since, context.revocations.cursor)),
    });
  });
}

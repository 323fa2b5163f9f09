import { OAuthError, signingAlgorithms, type SigningAlgorithm } from '@tessera/protocol';
import type { FastifyInstance } from 'fastify';
import { auditView, keyView } from '../../views/record-views.js';
import type { TesseraContext } from '../../context.js';
import { rotateKey } from '../../keys/rotate-key.js';
import { authenticateAdmin } from './admin-auth.js';
import { objectBody, optionalInteger, optionalString } from './admin-input.js';

/** The admin API's key and audit routes. */
export function registerAdminKeys(app: FastifyInstance, context: TesseraContext): void {
  app.get('/admin/v1/keys', async (request) => {
    await authenticateAdmin(context, request);
    return { keys: context.keys.records.map(keyView) };
  });

  app.post('/admin/v1/keys/rotate', async (request, reply) => {
    const actor = await authenticateAdmin(context, request);
    const body = objectBody(request.body);
    const alg = (optionalString(body, 'alg') ?? context.config.signingAlg) as SigningAlgorithm;
    if (!signingAlgorithms.includes(alg)) {
      throw new OAuthError('invalid_request', `alg must be one of ${signingAlgorithms.join(', ')}`);
    }
    const propagation = optionalInteger(body, 'propagation_seconds') ?? context.config.jwksMaxAge;
    if (propagation < 0 || propagation > 7 * 86400) {
      throw new OAuthError('invalid_request', 'propagation_seconds must be from 0 to 604800');
    }
    const now = context.nowSeconds();
    const key = (await rotateKey(
      context.store,
      context.kek,
      alg,
      context.nowSeconds,
      propagation,
    ))!;
    await context.store.appendAudit({
      at: now,
      actor: `admin-api:${actor}`,
      action: 'key.rotate',
      target: key.kid,
      details: { alg, propagation_seconds: propagation },
    });
    await context.keys.reload();
    request.log.info({ action: 'key.rotate', target: key.kid }, 'admin change');
    return reply.code(201).send(keyView(key));
  });

  app.get<{ Querystring: { limit?: string } }>('/admin/v1/audit', async (request) => {
    await authenticateAdmin(context, request);
    const limit = request.query.limit === undefined ? 100 : Number(request.query.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) {
      throw new OAuthError('invalid_request', 'limit must be an integer from 1 to 10000');
    }
    return { entries: (await context.store.listAudit(limit)).map(auditView) };
  });
}

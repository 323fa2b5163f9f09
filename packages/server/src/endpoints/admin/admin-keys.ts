import { OAuthError, signingAlgorithms, type SigningAlgorithm } from '@tessera/protocol';
import { auditView, keyView } from '../../views/record-views.js';
import type { TesseraContext } from '../../context.js';
import { keyStoreUnavailable } from '../../keys/key-store.js';
import { rotateKey } from '../../keys/rotate-key.js';
import { int, json, list, object, ref, type Endpoint } from '../endpoint.js';
import { auditAbout } from './admin-audit.js';
import { objectBody, optionalInteger, optionalString } from './admin-input.js';

export type AdminKeyDeps = Pick<TesseraContext, 'store' | 'keys' | 'nowSeconds'> & {
  config: Pick<TesseraContext['config'], 'signingAlg' | 'jwksMaxAge'>;
};

/** The admin API's key and audit routes. */
export function adminKeyEndpoints(deps: AdminKeyDeps): Endpoint[] {
  return [
    {
      method: 'GET',
      paths: ['/admin/v1/keys'],
      summary: 'Signing keys and their states',
      caller: 'admin',
      role: 'viewer',
      responses: { 200: json('Keys', object({ keys: list(ref('Key')) })) },
      handle: () => ({ status: 200, body: { keys: deps.keys.records.map(keyView) } }),
    },
    {
      method: 'POST',
      paths: ['/admin/v1/keys/rotate'],
      summary: 'Publish a new signing key; it signs after propagation_seconds',
      caller: 'admin',
      role: 'admin',
      request: {
        body: {
          type: 'object',
          properties: {
            alg: { enum: [...signingAlgorithms] },
            propagation_seconds: { type: 'integer', minimum: 0, maximum: 604800 },
          },
        },
      },
      responses: {
        201: { description: 'The published key', schema: ref('Key') },
        400: 'invalid_request',
      },
      async handle(request) {
        const body = objectBody(request.body);
        const alg = (optionalString(body, 'alg') ?? deps.config.signingAlg) as SigningAlgorithm;
        if (!signingAlgorithms.includes(alg)) {
          throw new OAuthError(
            'invalid_request',
            `alg must be one of ${signingAlgorithms.join(', ')}`,
          );
        }
        const propagation = optionalInteger(body, 'propagation_seconds') ?? deps.config.jwksMaxAge;
        if (propagation < 0 || propagation > 7 * 86400) {
          throw new OAuthError('invalid_request', 'propagation_seconds must be from 0 to 604800');
        }
        const now = deps.nowSeconds();
        const key = (await rotateKey(
          deps.store,
          deps.keys.keyStores.generating,
          alg,
          deps.nowSeconds,
          propagation,
        ).catch(keyStoreUnavailable))!;
        await deps.store.appendAudit({
          at: now,
          ...auditAbout(request),
          action: 'key.rotate',
          target: key.kid,
          details: { alg, propagation_seconds: propagation },
        });
        await deps.keys.reload();
        return {
          status: 201,
          body: keyView(key),
          change: { action: 'key.rotate', target: key.kid },
        };
      },
    },
    {
      method: 'GET',
      paths: ['/admin/v1/audit'],
      summary: 'Audit trail, newest first',
      caller: 'admin',
      role: 'viewer',
      request: { query: object({}, { limit: { ...int, minimum: 1, maximum: 10000 } }) },
      responses: {
        200: json('Entries', object({ entries: list(ref('AuditEntry')) })),
        400: 'invalid_request',
      },
      async handle(request) {
        const given = request.query?.limit;
        const limit = given === undefined ? 100 : Number(given);
        if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) {
          throw new OAuthError('invalid_request', 'limit must be an integer from 1 to 10000');
        }
        return {
          status: 200,
          body: { entries: (await deps.store.listAudit(limit)).map(auditView) },
        };
      },
    },
  ];
}

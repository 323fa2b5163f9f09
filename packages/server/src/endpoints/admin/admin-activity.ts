import { OAuthError } from '@tessera/protocol';
import type { FastifyInstance } from 'fastify';
import type { TesseraContext } from '../../context.js';
import { activityWindowSeconds } from '../../metrics/activity.js';
import { authenticateAdmin } from './admin-auth.js';

const iso = (seconds: number | null) =>
  seconds === null ? null : new Date(seconds * 1000).toISOString();
const sum = (values: number[]) => values.reduce((total, value) => total + value, 0);

/**
 * The console's activity data, from the instance's in-memory counters (every worker's, added up
 * by the primary): per-second token and authentication-failure counts over the last 15
 * minutes, and per-client 24-hour totals.
 */
export function registerAdminActivity(app: FastifyInstance, context: TesseraContext): void {
  const { metrics } = context;

  app.get<{ Querystring: { client_id?: string } }>('/admin/v1/activity', async (request) => {
    await authenticateAdmin(context, request);
    const clientId = request.query.client_id;
    if (clientId !== undefined && (clientId === '' || clientId.length > 255)) {
      throw new OAuthError('invalid_request', 'client_id must be 1 to 255 characters');
    }
    const now = context.nowSeconds();
    const { issued, failed } = await metrics.activitySeries(now, clientId);
    return {
      client_id: clientId ?? null,
      interval_seconds: 1,
      start: iso(now - activityWindowSeconds + 1),
      end: iso(now),
      issued,
      auth_failures: failed,
      totals: { issued: sum(issued), auth_failures: sum(failed) },
    };
  });

  app.get('/admin/v1/activity/clients', async (request) => {
    await authenticateAdmin(context, request);
    const clients = (await metrics.activityClients(context.nowSeconds())).map((client) => ({
      client_id: client.clientId,
      tokens_issued_24h: client.issued,
      auth_failures_24h: client.failed,
      last_used_at: iso(client.lastUsedAt),
    }));
    return { window_seconds: 86400, clients };
  });
}

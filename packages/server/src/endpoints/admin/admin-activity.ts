import { OAuthError } from '@tessera/protocol';
import type { TesseraContext } from '../../context.js';
import { activityWindowSeconds } from '../../metrics/activity.js';
import { dateTime, int, json, list, nullable, object, str } from '../endpoint.js';
import type { Endpoint } from '../endpoint.js';

const iso = (seconds: number | null) =>
  seconds === null ? null : new Date(seconds * 1000).toISOString();
const sum = (values: number[]) => values.reduce((total, value) => total + value, 0);
const counts = list({ ...int, minimum: 0 });

export type AdminActivityDeps = Pick<TesseraContext, 'nowSeconds'> & {
  /** The instance's counts: every worker's, added up by the primary (process/shared-metrics.ts). */
  metrics: Pick<TesseraContext['metrics'], 'activitySeries' | 'activityClients'>;
};

/**
 * The console's activity data, from the instance's in-memory counters (every worker's, added up
 * by the primary): per-second token and authentication-failure counts over the last 15
 * minutes, and per-client 24-hour totals.
 */
export function adminActivityEndpoints(deps: AdminActivityDeps): Endpoint[] {
  const { metrics } = deps;
  return [
    {
      method: 'GET',
      paths: ['/admin/v1/activity'],
      summary:
        'Tokens issued and failed client authentications per second over the last 15 minutes (the instance: every worker)',
      caller: 'admin',
      role: 'viewer',
      request: {
        query: object(
          {},
          {
            client_id: {
              ...str,
              minLength: 1,
              maxLength: 255,
              description: 'One client; all when absent',
            },
          },
        ),
      },
      responses: {
        200: json(
          '900 per-second counts, oldest first, ending at end',
          object({
            ...{ client_id: nullable(str), interval_seconds: { const: 1 }, start: dateTime },
            ...{ end: dateTime, issued: counts, auth_failures: counts },
            totals: object({ issued: int, auth_failures: int }),
          }),
        ),
        400: 'invalid_request',
      },
      async handle(request) {
        const clientId = request.query?.client_id as string | undefined;
        if (clientId !== undefined && (clientId === '' || clientId.length > 255)) {
          throw new OAuthError('invalid_request', 'client_id must be 1 to 255 characters');
        }
        const now = deps.nowSeconds();
        const { issued, failed } = await metrics.activitySeries(now, clientId);
        return {
          status: 200,
          body: {
            client_id: clientId ?? null,
            interval_seconds: 1,
            start: iso(now - activityWindowSeconds + 1),
            end: iso(now),
            issued,
            auth_failures: failed,
            totals: { issued: sum(issued), auth_failures: sum(failed) },
          },
        };
      },
    },
    {
      method: 'GET',
      paths: ['/admin/v1/activity/clients'],
      summary:
        'Per-client tokens issued, failed authentications and last use over 24 hours (the instance: every worker; the 10000 most recently active clients of each)',
      caller: 'admin',
      role: 'viewer',
      responses: {
        200: json(
          'Clients with activity',
          object({
            window_seconds: { const: 86400 },
            clients: list(
              object({
                ...{ client_id: str, tokens_issued_24h: int, auth_failures_24h: int },
                last_used_at: nullable(dateTime),
              }),
            ),
          }),
        ),
      },
      async handle() {
        const clients = (await metrics.activityClients(deps.nowSeconds())).map((client) => ({
          client_id: client.clientId,
          tokens_issued_24h: client.issued,
          auth_failures_24h: client.failed,
          last_used_at: iso(client.lastUsedAt),
        }));
        return { status: 200, body: { window_seconds: 86400, clients } };
      },
    },
  ];
}

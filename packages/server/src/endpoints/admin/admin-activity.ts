import { OAuthError } from '@tessera/protocol';
import type { TesseraContext } from '../../context.js';
import { activityWindowSeconds } from '../../metrics/activity.js';
import { error, type Endpoint } from '../endpoint.js';

const iso = (seconds: number | null) =>
  seconds === null ? null : new Date(seconds * 1000).toISOString();
const sum = (values: number[]) => values.reduce((total, value) => total + value, 0);
const counts = { type: 'array', items: { type: 'integer', minimum: 0 } };
const dateTime = { type: 'string', format: 'date-time' };

export type AdminActivityDeps = Pick<TesseraContext, 'nowSeconds'> & {
  activity: TesseraContext['metrics']['activity'];
};

/**
 * The console's activity data, from this process's in-memory counters: per-second token and
 * authentication-failure counts over the last 15 minutes, and per-client 24-hour totals.
 */
export function adminActivityEndpoints(deps: AdminActivityDeps): Endpoint[] {
  const { activity } = deps;
  return [
    {
      name: 'activity',
      method: 'GET',
      paths: ['/admin/v1/activity'],
      summary:
        'Tokens issued and failed client authentications per second over the last 15 minutes (this process)',
      caller: 'admin',
      request: {
        query: {
          type: 'object',
          properties: {
            client_id: {
              type: 'string',
              minLength: 1,
              maxLength: 255,
              description: 'One client; all clients when absent',
            },
          },
        },
      },
      responses: {
        200: {
          description: '900 per-second counts, oldest first, ending at end',
          schema: {
            type: 'object',
            properties: {
              client_id: { type: ['string', 'null'] },
              interval_seconds: { const: 1 },
              start: dateTime,
              end: dateTime,
              issued: counts,
              auth_failures: counts,
              totals: {
                type: 'object',
                properties: { issued: { type: 'integer' }, auth_failures: { type: 'integer' } },
                required: ['issued', 'auth_failures'],
              },
            },
            required: [
              'client_id',
              'interval_seconds',
              'start',
              'end',
              'issued',
              'auth_failures',
              'totals',
            ],
          },
        },
        400: error('invalid_request'),
      },
      handle(request) {
        const clientId = request.query?.client_id as string | undefined;
        if (clientId !== undefined && (clientId === '' || clientId.length > 255)) {
          throw new OAuthError('invalid_request', 'client_id must be 1 to 255 characters');
        }
        const now = deps.nowSeconds();
        const { issued, failed } = activity.series(now, clientId);
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
      name: 'activityByClient',
      method: 'GET',
      paths: ['/admin/v1/activity/clients'],
      summary:
        'Per-client tokens issued, failed authentications and last use over 24 hours (this process, the 10000 most recently active clients)',
      caller: 'admin',
      responses: {
        200: {
          description: 'Clients with activity',
          schema: {
            type: 'object',
            properties: {
              window_seconds: { const: 86400 },
              clients: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    client_id: { type: 'string' },
                    tokens_issued_24h: { type: 'integer' },
                    auth_failures_24h: { type: 'integer' },
                    last_used_at: { type: ['string', 'null'], format: 'date-time' },
                  },
                  required: ['client_id', 'tokens_issued_24h', 'auth_failures_24h', 'last_used_at'],
                },
              },
            },
            required: ['window_seconds', 'clients'],
          },
        },
      },
      handle() {
        const clients = activity.clients(deps.nowSeconds()).map((client) => ({
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

import { timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { TesseraContext } from '../context.js';
import type { Answer, Endpoint } from './endpoint.js';

const challenge = 'Bearer realm="tessera-metrics"';

/**
 * The scrape answer: the Prometheus text, or 401 when `TESSERA_METRICS_TOKEN` is set and the
 * request does not carry `Authorization: Bearer <that token>` (compared in constant time).
 */
export async function scrapeAnswer(
  deps: Pick<TesseraContext, 'metrics' | 'config'>,
  headers: IncomingHttpHeaders,
): Promise<Answer> {
  const expected = deps.config.metricsToken;
  if (expected !== undefined && !bearerMatches(headers.authorization, expected)) {
    return {
      status: 401,
      headers: { 'www-authenticate': challenge, 'cache-control': 'no-store' },
      body: { error: 'invalid_token', error_description: 'The metrics token is required' },
    };
  }
  const { contentType, body } = await deps.metrics.scrape();
  return {
    status: 200,
    headers: { 'content-type': contentType, 'cache-control': 'no-store' },
    body,
  };
}

function bearerMatches(header: string | undefined, expected: string): boolean {
  const match = /^Bearer +(\S+) *$/i.exec(header ?? '');
  if (!match) return false;
  const sent = Buffer.from(match[1]!);
  const wanted = Buffer.from(expected);
  return sent.length === wanted.length && timingSafeEqual(sent, wanted);
}

/**
 * Prometheus scrape endpoint (text exposition format 0.0.4) on the main port; left out of
 * the table when `--metrics-listen` moves it to its own listener (metrics/metrics-listener.ts).
 */
export function metricsEndpoint(deps: Pick<TesseraContext, 'metrics' | 'config'>): Endpoint {
  return {
    method: 'GET',
    paths: ['/metrics'],
    summary: 'Prometheus metrics (text exposition format 0.0.4)',
    caller: 'none',
    responses: {
      200: { description: 'Metrics', type: 'text/plain' },
      401: 'The metrics token is missing or wrong (only when TESSERA_METRICS_TOKEN is set)',
    },
    handle: (request) => scrapeAnswer(deps, request.raw.headers),
  };
}

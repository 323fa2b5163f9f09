import type { TesseraContext } from '../context.js';
import type { Endpoint } from './endpoint.js';

/** Prometheus scrape endpoint (text exposition format 0.0.4). */
export function metricsEndpoint(deps: Pick<TesseraContext, 'metrics'>): Endpoint {
  return {
    method: 'GET',
    paths: ['/metrics'],
    summary: 'Prometheus metrics (text exposition format 0.0.4)',
    caller: 'none',
    responses: { 200: { description: 'Metrics', type: 'text/plain' } },
    async handle() {
      const { contentType, body } = await deps.metrics.scrape();
      return {
        status: 200,
        headers: { 'content-type': contentType, 'cache-control': 'no-store' },
        body,
      };
    },
  };
}

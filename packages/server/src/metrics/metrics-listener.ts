import { createServer, type Server } from 'node:http';
import type { TesseraContext } from '../context.js';
import { scrapeAnswer } from '../endpoints/metrics.js';

/** The `--metrics-listen` listener: `GET /metrics` and nothing else. */
export interface MetricsListener {
  /** e.g. http://127.0.0.1:9464 */
  url: string;
  close(): Promise<void>;
}

/**
 * Serves `/metrics` on its own address (`--metrics-listen HOST:PORT`), so the scrape can stay
 * on a private interface while the token endpoint faces the world; the main port then has no
 * `/metrics`. `TESSERA_METRICS_TOKEN` applies here too.
 */
export async function listenForMetrics(
  deps: Pick<TesseraContext, 'metrics' | 'config'>,
  address: { host: string; port: number },
): Promise<MetricsListener> {
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?', 1)[0];
    const send = (status: number, headers: Record<string, string>, body: unknown) => {
      const text = typeof body === 'string' ? body : JSON.stringify(body);
      response.writeHead(status, {
        ...(typeof body === 'string' ? {} : { 'content-type': 'application/json; charset=utf-8' }),
        ...headers,
      });
      response.end(text);
    };
    if (path !== '/metrics')
      return send(404, {}, { error: 'not_found', error_description: 'Only /metrics is here' });
    if (request.method !== 'GET' && request.method !== 'HEAD')
      return send(405, { allow: 'GET' }, { error: 'method_not_allowed' });
    scrapeAnswer(deps, request.headers).then(
      (answer) => send(answer.status, { ...answer.headers }, answer.body),
      () => send(500, {}, { error: 'server_error' }),
    );
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(address.port, address.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address() as { port: number };
  const host = address.host.includes(':') ? `[${address.host}]` : address.host;
  return {
    url: `http://${host}:${bound.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

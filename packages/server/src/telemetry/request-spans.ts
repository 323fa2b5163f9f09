import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import {
  context,
  defaultTextMapGetter,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Span,
} from '@opentelemetry/api';
import type { FastifyInstance } from 'fastify';
import type { Tracing } from './start-tracing.js';
import { activeTracer } from './tracer-state.js';

/**
 * One SERVER span per HTTP request, named and attributed after the OpenTelemetry HTTP semantic
 * conventions (`http.request.method`, `http.route`, `http.response.status_code`, `url.path`
 * without its query string), child of the caller's W3C `traceparent` when it sent one. It
 * wraps the node:http listener, so both the token endpoint's fast path and Fastify's routes
 * run inside it; what they learn (client, outcome, error code) they add with
 * `annotateOutcome`. Nothing from headers or bodies is recorded beyond these.
 */
export function traceRequests(app: FastifyInstance, tracing: Tracing): void {
  const { tracer, propagator } = tracing;
  const server = app.server;
  const listeners = server.listeners('request') as RequestListener[];
  server.removeAllListeners('request');
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    const parent = propagator.extract(ROOT_CONTEXT, request.headers, defaultTextMapGetter);
    const method = request.method ?? 'GET';
    const span = tracer.startSpan(
      method,
      {
        kind: SpanKind.SERVER,
        attributes: {
          'http.request.method': method,
          'url.path': (request.url ?? '/').split('?', 1)[0],
          'url.scheme': 'encrypted' in request.socket ? 'https' : 'http',
        },
      },
      parent,
    );
    const active = trace.setSpan(parent, span);
    // 'close' comes after 'finish', where Fastify's onResponse hooks (and metrics) run.
    response.once('close', () => {
      span.setAttribute('http.response.status_code', response.statusCode);
      if (response.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    });
    // The body arrives in 'data'/'end' callbacks, which would otherwise run outside the span.
    tracing.bind(active, request);
    tracing.bind(active, response);
    context.with(active, () => {
      const taken = app.tokenListener.taken;
      for (const listener of listeners) listener.call(server, request, response);
      // The fast path took it: its route is the token path it matched exactly.
      if (app.tokenListener.taken !== taken) nameAfterRoute(span, method, request.url ?? '/');
    });
  });
  app.addHook('onRequest', (request, _reply, done) => {
    const route = request.routeOptions.url;
    const span = trace.getActiveSpan();
    if (route !== undefined && span) nameAfterRoute(span, request.method, route);
    done();
  });
}

function nameAfterRoute(span: Span, method: string, route: string): void {
  span.updateName(`${method} ${route}`);
  span.setAttribute('http.route', route);
}

/**
 * What an OAuth endpoint concluded, on the request's span: `tessera.outcome` (as the metrics
 * count it: `issued`, `revoked`, `answered` or the OAuth error code), `oauth.error`, and
 * `tessera.client_id` only for a registered client (a made-up client_id may be anything,
 * a pasted secret included).
 */
export function annotateOutcome(
  outcome: string,
  error: string | undefined,
  clientId: string | undefined,
): void {
  const span = trace.getActiveSpan();
  if (!span) return;
  span.setAttribute('tessera.outcome', outcome);
  if (error !== undefined) span.setAttribute('oauth.error', error);
  if (clientId !== undefined) span.setAttribute('tessera.client_id', clientId);
}

/** A child span around `work` (CLIENT for calls out, e.g. the store), inside a request's span. */
export function inChildSpan<T>(
  name: string,
  kind: SpanKind,
  attributes: Record<string, string>,
  work: () => Promise<T>,
): Promise<T> {
  const tracer = activeTracer;
  if (!tracer || !trace.getActiveSpan()) return work();
  return tracer.startActiveSpan(name, { kind, attributes }, (span) =>
    work().then(
      (result) => {
        span.end();
        return result;
      },
      (error: unknown) => {
        span.setStatus({ code: SpanStatusCode.ERROR, message: errorName(error) });
        span.end();
        throw error;
      },
    ),
  );
}

/** An error's class name only: messages may quote input. */
const errorName = (error: unknown) => (error instanceof Error ? error.name : 'error');

/** pino mixin: the active span's ids on every log line written inside a traced request. */
export function traceIdsForLogs(): Record<string, string> {
  const span = trace.getActiveSpan();
  if (!span) return {};
  const { traceId, spanId } = span.spanContext();
  return { trace_id: traceId, span_id: spanId };
}

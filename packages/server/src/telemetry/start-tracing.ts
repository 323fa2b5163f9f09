import {
  context,
  diag,
  DiagLogLevel,
  type Context,
  type TextMapPropagator,
  type Tracer,
} from '@opentelemetry/api';
import type { Logger } from 'pino';
import { symbols } from 'pino';
import { traceIdsForLogs } from './request-spans.js';
import { setActiveTracer } from './tracer-state.js';
import { requestLineLogger } from '../http/logger.js';
import type { TracingSettings } from './tracing-settings.js';

export interface Tracing {
  tracer: Tracer;
  propagator: TextMapPropagator<unknown>;
  /** Binds a request's emitters to its span's context, so their callbacks see it. */
  bind<T>(active: Context, target: T): T;
  /** Sends the spans still queued. */
  flush(): Promise<void>;
  /** Sends the spans still queued and turns tracing off. */
  shutdown(): Promise<void>;
}

/**
 * Starts exporting spans over OTLP/HTTP (JSON) with the official SDK: spans are batched and
 * sent from a queue (bounded, 2048 spans: when the receiver is down, spans beyond it are
 * dropped, never memory grown), W3C `traceparent` is read from callers, and the context
 * follows each request through its callbacks (AsyncLocalStorage). The SDK is loaded only
 * here, so with tracing off not even its modules are imported. One traced server per process:
 * the tracer and context manager are process-wide, as OpenTelemetry's are.
 */
export async function startTracing(settings: TracingSettings, logger: Logger): Promise<Tracing> {
  const [sdk, exporterModule, resources, core, hooks] = await Promise.all([
    import('@opentelemetry/sdk-trace-base'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/core'),
    import('@opentelemetry/context-async-hooks'),
  ]);
  // The SDK reports failed exports through its diagnostic logger, silent unless one is set.
  const report = (message: string, ...args: unknown[]) =>
    logger.warn({ detail: [message, ...args].map(String).join(' ') }, 'trace export problem');
  diag.setLogger(
    { error: report, warn: report, info: () => {}, debug: () => {}, verbose: () => {} },
    DiagLogLevel.WARN,
  );
  const contextManager = new hooks.AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  const exporter = new exporterModule.OTLPTraceExporter({
    url: settings.tracesUrl,
    timeoutMillis: 10_000,
  });
  const { name: samplerName, ratio } = settings.sampler;
  const root = samplerName.endsWith('always_off')
    ? new sdk.AlwaysOffSampler()
    : samplerName.endsWith('traceidratio')
      ? new sdk.TraceIdRatioBasedSampler(ratio)
      : new sdk.AlwaysOnSampler();
  const provider = new sdk.BasicTracerProvider({
    sampler: samplerName.startsWith('parentbased_') ? new sdk.ParentBasedSampler({ root }) : root,
    resource: resources.resourceFromAttributes({
      'service.name': settings.serviceName,
      'process.pid': process.pid,
    }),
    spanProcessors: [new sdk.BatchSpanProcessor(exporter, { maxQueueSize: 2048 })],
  });
  const tracer = provider.getTracer('tessera');
  setActiveTracer(tracer);
  // Every log line written inside a traced request carries its trace_id and span_id. pino
  // takes a mixin only at creation, and the logger exists before tracing starts: set it on
  // the instance (child loggers, Fastify's per request among them, inherit it).
  // The token listener's request lines have a logger of their own (http/logger.ts): it too.
  const traced = [...new Set([logger, requestLineLogger(logger)])].map(
    (one) => one as unknown as Record<symbol, unknown>,
  );
  const previousMixins = traced.map((mixins) => mixins[symbols.mixinSym]);
  for (const mixins of traced) mixins[symbols.mixinSym] = traceIdsForLogs;
  const host = new URL(settings.tracesUrl).host;
  logger.info(
    { exporter: host, service: settings.serviceName, sampler: samplerName },
    'tracing on: exporting spans',
  );
  return {
    tracer,
    propagator: new core.W3CTraceContextPropagator(),
    bind: (active, target) => contextManager.bind(active, target),
    flush: () => provider.forceFlush(),
    async shutdown() {
      await provider.shutdown();
      setActiveTracer(undefined);
      traced.forEach((mixins, i) => (mixins[symbols.mixinSym] = previousMixins[i]));
      contextManager.disable();
      context.disable();
      diag.disable();
    },
  };
}

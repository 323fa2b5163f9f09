import type { Tracer } from '@opentelemetry/api';

/**
 * The tracer while tracing is on (set by start-tracing.ts). Undefined, the default, means no
 * tracing work anywhere: every instrumented place checks this one binding first and does
 * nothing else when it is undefined, so the token path costs what it cost before.
 */
export let activeTracer: Tracer | undefined;

export function setActiveTracer(tracer: Tracer | undefined): void {
  activeTracer = tracer;
}

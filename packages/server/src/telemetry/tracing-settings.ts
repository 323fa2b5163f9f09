export interface TracingSettings {
  /** Where spans are POSTed (OTLP/HTTP, JSON). */
  tracesUrl: string;
  /** `service.name` of every span's resource. */
  serviceName: string;
  /** Which traces are recorded (OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG). */
  sampler: { name: SamplerName; ratio: number };
}

/**
 * The specification's standard samplers. The default, `parentbased_always_on`, records every
 * trace but follows a caller's sampling decision (the `traceparent` flag).
 */
export const samplerNames = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
] as const;
export type SamplerName = (typeof samplerNames)[number];

/** The OpenTelemetry rows of the option table (config/options.ts), as read. */
export interface OtelOptions {
  otelEndpoint: string | undefined;
  otelStandardEndpoint: string | undefined;
  otelTracesEndpoint: string | undefined;
  otelServiceName: string;
  otelSdkDisabled: boolean;
  otelTracesSampler: SamplerName;
  otelTracesSamplerArg: number;
}

/**
 * Tracing settings, or undefined (tracing off, the default). As in the OpenTelemetry
 * specification, `TESSERA_OTEL_EXPORTER_OTLP_ENDPOINT` (or the standard
 * `OTEL_EXPORTER_OTLP_ENDPOINT`) is a base URL to which `/v1/traces` is appended, while
 * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is used as given; `OTEL_SDK_DISABLED=true` turns it off.
 */
export function tracingSettings(options: OtelOptions): TracingSettings | undefined {
  if (options.otelSdkDisabled) return undefined;
  const base = options.otelEndpoint ?? options.otelStandardEndpoint;
  const tracesUrl =
    options.otelTracesEndpoint ??
    (base === undefined ? undefined : `${base.replace(/\/+$/, '')}/v1/traces`);
  if (tracesUrl === undefined) return undefined;
  return {
    tracesUrl,
    serviceName: options.otelServiceName,
    sampler: { name: options.otelTracesSampler, ratio: options.otelTracesSamplerArg },
  };
}

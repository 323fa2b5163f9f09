import { ConfigError } from '../config.js';

export interface TracingSettings {
  /** Where spans are POSTed (OTLP/HTTP, JSON). */
  tracesUrl: string;
  /** `service.name` of every span's resource. */
  serviceName: string;
  /** Which traces are recorded (OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG). */
  sampler: { name: SamplerName; ratio: number };
}

const samplerNames = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
] as const;
export type SamplerName = (typeof samplerNames)[number];

/**
 * The specification's standard samplers: every trace by default, but a caller's sampling
 * decision (the `traceparent` flag) is followed, as `parentbased_always_on` says.
 */
function samplerOf(env: NodeJS.ProcessEnv): TracingSettings['sampler'] {
  const name = (env.OTEL_TRACES_SAMPLER?.trim() || 'parentbased_always_on') as SamplerName;
  if (!samplerNames.includes(name))
    throw new ConfigError(
      `OTEL_TRACES_SAMPLER must be one of ${samplerNames.join(', ')}, got ${JSON.stringify(name)}`,
    );
  const arg = env.OTEL_TRACES_SAMPLER_ARG?.trim();
  const ratio = arg ? Number(arg) : 1;
  if (name.endsWith('traceidratio') && !(ratio >= 0 && ratio <= 1))
    throw new ConfigError(
      `OTEL_TRACES_SAMPLER_ARG must be a number from 0 to 1, got ${JSON.stringify(arg)}`,
    );
  return { name, ratio };
}

/**
 * Tracing settings from the environment, or undefined (tracing off, the default). As in the
 * OpenTelemetry specification, `TESSERA_OTEL_EXPORTER_OTLP_ENDPOINT` (or the standard
 * `OTEL_EXPORTER_OTLP_ENDPOINT`) is a base URL to which `/v1/traces` is appended, while
 * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is used as given; `OTEL_SDK_DISABLED=true` turns it off.
 */
export function tracingSettings(env: NodeJS.ProcessEnv): TracingSettings | undefined {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return undefined;
  const signal = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
  const baseName = env.TESSERA_OTEL_EXPORTER_OTLP_ENDPOINT?.trim()
    ? 'TESSERA_OTEL_EXPORTER_OTLP_ENDPOINT'
    : 'OTEL_EXPORTER_OTLP_ENDPOINT';
  const base = env[baseName]?.trim();
  let tracesUrl: string;
  let name: string;
  if (signal) {
    tracesUrl = signal;
    name = 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT';
  } else if (base) {
    tracesUrl = `${base.replace(/\/+$/, '')}/v1/traces`;
    name = baseName;
  } else return undefined;
  let url: URL;
  try {
    url = new URL(tracesUrl);
  } catch {
    throw new ConfigError(`${name} must be an http(s) URL, got ${JSON.stringify(tracesUrl)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new ConfigError(`${name} must be an http(s) URL, got ${JSON.stringify(tracesUrl)}`);
  return {
    tracesUrl,
    serviceName: env.OTEL_SERVICE_NAME?.trim() || 'tessera',
    sampler: samplerOf(env),
  };
}

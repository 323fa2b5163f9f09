import { ConfigError } from '../config.js';

export interface TracingSettings {
  /** Where spans are POSTed (OTLP/HTTP, JSON). */
  tracesUrl: string;
  /** `service.name` of every span's resource. */
  serviceName: string;
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
  return { tracesUrl, serviceName: env.OTEL_SERVICE_NAME?.trim() || 'tessera' };
}

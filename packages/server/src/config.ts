import { signingAlgorithms, type SigningAlgorithm } from '@tessera/protocol';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import { defaultFailureLimits, type FailureLimits } from './client-auth/failure-limiter.js';

/**
 * Every server option, its default and its environment variable. Validated at start-up:
 * a bad value stops the server with a message naming the option.
 */
export interface ServerConfig {
  /** Listen port (`PORT`, `--port`). Default 8080. */
  port: number;
  /** Listen address (`HOST`, `--host`). Default 127.0.0.1. */
  host: string;
  /** `iss` of every token and base of discovery (`TESSERA_ISSUER`). Default http://localhost:8080. */
  issuer: string;
  /** Data directory: SQLite file, key-encryption key file (`TESSERA_DATA_DIR`). Default ./data. */
  dataDir: string;
  /** `sqlite:PATH` or `postgres://…` (`--database`, `DATABASE_URL`). Default sqlite:<dataDir>/tessera.db. */
  database: string;
  /** Provider dialect (`--preset`, `TESSERA_PRESET`); the RFC endpoints stay mounted beside it. */
  preset: string | undefined;
  /** JWS algorithm for new access tokens (`TESSERA_SIGNING_ALG`): RS256 (default), ES256, EdDSA. */
  signingAlg: SigningAlgorithm;
  /** Access token lifetime in seconds when the client has none (`TESSERA_TOKEN_TTL`). Default 3600. */
  defaultTokenTtl: number;
  /** `aud` for clients registered without an audience (`TESSERA_DEFAULT_AUDIENCE`). Default: the issuer. */
  defaultAudience: string | undefined;
  /** JWKS `Cache-Control: max-age` in seconds (`TESSERA_JWKS_MAX_AGE`). Default 300. */
  jwksMaxAge: number;
  /** Rotate the signing key automatically when the active one is this many days old (`--key-rotation-days`, `TESSERA_KEY_ROTATION_DAYS`). Default: never. */
  keyRotationDays: number | undefined;
  /**
   * Brute-force protection: failed client authentications per client_id
   * (`TESSERA_AUTH_MAX_FAILURES_PER_CLIENT`, default 10) and per source address
   * (`TESSERA_AUTH_MAX_FAILURES_PER_ADDRESS`, default 50) within `TESSERA_AUTH_FAILURE_WINDOW`
   * seconds (60) lock that client_id or address for `TESSERA_AUTH_LOCK_SECONDS` (60).
   */
  authFailureLimits: FailureLimits;
  /** PEM certificate chain for HTTPS (`--tls-cert`, `TESSERA_TLS_CERT`); with `tlsKey`. Default: plain HTTP. */
  tlsCert: string | undefined;
  /** PEM private key for HTTPS (`--tls-key`, `TESSERA_TLS_KEY`). */
  tlsKey: string | undefined;
  /**
   * PEM bundle of CAs that issue client certificates (`--tls-client-ca`, `TESSERA_TLS_CLIENT_CA`).
   * Set, the server asks for client certificates (RFC 8705 mTLS) and checks forwarded ones against it.
   */
  tlsClientCa: string | undefined;
  /**
   * Proxies whose forwarded client certificate header is trusted: addresses or CIDR subnets
   * (`--trusted-proxy`, repeatable; `TESSERA_TRUSTED_PROXIES`, comma-separated). Default: none.
   */
  trustedProxies: string[];
  /** Header a trusted proxy puts the URL-encoded PEM client certificate in (`TESSERA_CLIENT_CERT_HEADER`). Default X-Client-Cert. */
  clientCertHeader: string;
  /** Largest accepted request body in bytes at the OAuth endpoints. Default 16 KiB. */
  bodyLimit: number;
  /** pino level (`TESSERA_LOG_LEVEL`). Default info. */
  logLevel: string;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export type ConfigOverrides = Partial<ServerConfig>;

function integer(
  name: string,
  value: string | number | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (value === undefined || value === '') return fallback;
  const number = typeof value === 'number' ? value : Number(value);
  if (!Number.isInteger(number) || number < min || number > max) {
    throw new ConfigError(
      `${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`,
    );
  }
  return number;
}

/** Builds the configuration from the environment, then command-line overrides on top. */
export function loadConfig(
  env: NodeJS.ProcessEnv = process.env,
  overrides: ConfigOverrides = {},
): ServerConfig {
  const dataDir = resolve(overrides.dataDir ?? env.TESSERA_DATA_DIR ?? 'data');
  const issuer = (overrides.issuer ?? env.TESSERA_ISSUER ?? 'http://localhost:8080').replace(
    /\/+$/,
    '',
  );
  try {
    const url = new URL(issuer);
    if (url.search || url.hash) throw new Error();
  } catch {
    throw new ConfigError(
      `TESSERA_ISSUER must be an http(s) URL without query or fragment, got ${JSON.stringify(issuer)}`,
    );
  }
  const signingAlg = (overrides.signingAlg ??
    env.TESSERA_SIGNING_ALG ??
    'RS256') as SigningAlgorithm;
  if (!signingAlgorithms.includes(signingAlg)) {
    throw new ConfigError(
      `TESSERA_SIGNING_ALG must be one of ${signingAlgorithms.join(', ')}, got ${JSON.stringify(signingAlg)}`,
    );
  }
  const rotationDays = overrides.keyRotationDays ?? env.TESSERA_KEY_ROTATION_DAYS;
  const tls = tlsConfig(env, overrides);
  return {
    ...tls,
    port: integer('PORT', overrides.port ?? env.PORT, 8080, 0, 65535),
    host: overrides.host ?? env.HOST ?? '127.0.0.1',
    issuer,
    dataDir,
    database: overrides.database ?? env.DATABASE_URL ?? `sqlite:${join(dataDir, 'tessera.db')}`,
    preset: overrides.preset ?? (env.TESSERA_PRESET || undefined),
    signingAlg,
    defaultTokenTtl: integer(
      'TESSERA_TOKEN_TTL',
      overrides.defaultTokenTtl ?? env.TESSERA_TOKEN_TTL,
      3600,
      1,
      86400 * 366,
    ),
    defaultAudience: overrides.defaultAudience ?? (env.TESSERA_DEFAULT_AUDIENCE || undefined),
    jwksMaxAge: integer(
      'TESSERA_JWKS_MAX_AGE',
      overrides.jwksMaxAge ?? env.TESSERA_JWKS_MAX_AGE,
      300,
      0,
      86400,
    ),
    keyRotationDays:
      rotationDays === undefined || rotationDays === ''
        ? undefined
        : integer('TESSERA_KEY_ROTATION_DAYS', rotationDays, 0, 1, 3650),
    authFailureLimits: overrides.authFailureLimits ?? {
      perClient: integer(
        'TESSERA_AUTH_MAX_FAILURES_PER_CLIENT',
        env.TESSERA_AUTH_MAX_FAILURES_PER_CLIENT,
        defaultFailureLimits.perClient,
        1,
        1_000_000,
      ),
      perAddress: integer(
        'TESSERA_AUTH_MAX_FAILURES_PER_ADDRESS',
        env.TESSERA_AUTH_MAX_FAILURES_PER_ADDRESS,
        defaultFailureLimits.perAddress,
        1,
        1_000_000,
      ),
      windowSeconds: integer(
        'TESSERA_AUTH_FAILURE_WINDOW',
        env.TESSERA_AUTH_FAILURE_WINDOW,
        defaultFailureLimits.windowSeconds,
        1,
        86400,
      ),
      lockSeconds: integer(
        'TESSERA_AUTH_LOCK_SECONDS',
        env.TESSERA_AUTH_LOCK_SECONDS,
        defaultFailureLimits.lockSeconds,
        1,
        86400,
      ),
    },
    bodyLimit: overrides.bodyLimit ?? 16 * 1024,
    logLevel: overrides.logLevel ?? env.TESSERA_LOG_LEVEL ?? 'info',
  };
}

function tlsConfig(
  env: NodeJS.ProcessEnv,
  overrides: ConfigOverrides,
): Pick<
  ServerConfig,
  'tlsCert' | 'tlsKey' | 'tlsClientCa' | 'trustedProxies' | 'clientCertHeader'
> {
  const tlsCert = overrides.tlsCert ?? (env.TESSERA_TLS_CERT || undefined);
  const tlsKey = overrides.tlsKey ?? (env.TESSERA_TLS_KEY || undefined);
  if ((tlsCert === undefined) !== (tlsKey === undefined)) {
    throw new ConfigError(
      'TESSERA_TLS_CERT (--tls-cert) and TESSERA_TLS_KEY (--tls-key) go together',
    );
  }
  const tlsClientCa = overrides.tlsClientCa ?? (env.TESSERA_TLS_CLIENT_CA || undefined);
  const trustedProxies =
    overrides.trustedProxies ??
    (env.TESSERA_TRUSTED_PROXIES ?? '')
      .split(',')
      .map((entry) => entry.trim())
      .filter((entry) => entry !== '');
  for (const entry of trustedProxies) {
    const [address, prefix, extra] = entry.split('/');
    const family = isIP(address ?? '');
    if (
      family === 0 ||
      extra !== undefined ||
      (prefix !== undefined &&
        (!/^\d+$/.test(prefix) || Number(prefix) > (family === 6 ? 128 : 32)))
    ) {
      throw new ConfigError(
        `TESSERA_TRUSTED_PROXIES (--trusted-proxy) entries must be IP addresses or CIDR subnets, got ${JSON.stringify(entry)}`,
      );
    }
  }
  const clientCertHeader =
    overrides.clientCertHeader ?? (env.TESSERA_CLIENT_CERT_HEADER || 'x-client-cert');
  if (!/^[A-Za-z0-9-]+$/.test(clientCertHeader)) {
    throw new ConfigError(
      `TESSERA_CLIENT_CERT_HEADER must be a header name, got ${JSON.stringify(clientCertHeader)}`,
    );
  }
  return { tlsCert, tlsKey, tlsClientCa, trustedProxies, clientCertHeader };
}

import type { SigningAlgorithm } from '@tessera/protocol';
import { availableParallelism } from 'node:os';
import type { FailureLimits } from './client-auth/failure-limiter.js';
import {
  ConfigError,
  optionValue,
  readOption,
  type Option,
  type Sources,
} from './config/option.js';
import { optionRows, options, processEnvironment, type RoleMapping } from './config/options.js';
import { defaultDatabase, resolveDataDir } from './config/paths.js';
import { tracingSettings, type TracingSettings } from './telemetry/tracing-settings.js';
import type { ScopeClaims } from './claims/extra-claims.js';

export { ConfigError } from './config/option.js';
export type { Sources } from './config/option.js';

/**
 * The server's settings. Each field is a row of the option table (`config/options.ts`: flag,
 * environment variable, default, parser and doc); `loadConfig` reads them and stops with a
 * message naming the option when a value is bad.
 */
export interface ServerConfig {
  /** Listen port. Default 8080. */
  port: number;
  /** Listen address. Default 127.0.0.1. */
  host: string;
  /** `iss` of every token and base of discovery, without trailing slash. */
  issuer: string;
  /** Data directory (absolute): SQLite file, key-encryption key file. */
  dataDir: string;
  /** `sqlite:PATH` or `postgres://…`. Default sqlite:<dataDir>/tessera.db. */
  database: string;
  /** PostgreSQL streaming replicas of `database` to read from (issue 24). Default: none. */
  databaseReplicas: string[];
  /** Provider dialect; the RFC endpoints stay mounted beside it. */
  preset: string | undefined;
  /** Issue 21: Host header (lower case, with a port when given) → tenant name. Default: none. */
  tenantHosts: ReadonlyMap<string, string>;
  /** JWS algorithm for new signing keys. Default RS256. */
  signingAlg: SigningAlgorithm;
  /** Access token lifetime in seconds when the client has none. Default 3600. */
  defaultTokenTtl: number;
  /** `aud` for clients registered without an audience. Default: the issuer. */
  defaultAudience: string | undefined;
  /** JWKS `Cache-Control: max-age` in seconds. Default 300. */
  jwksMaxAge: number;
  /** Rotate the signing key when the active one is this many days old. Default: never. */
  keyRotationDays: number | undefined;
  /**
   * Where sealed keys sign (issue 24): on the libuv pool (default), or synchronously on the
   * event loop, which saves the thread hop but gives a worker one core (README, Performance).
   */
  signOn: SignOn;
  /** Where new signing keys are generated: sealed under the KEK (default) or in a PKCS#11 token. */
  signingKeys: 'sealed' | 'pkcs11';
  /** PKCS#11 library path, with `signingKeys: 'pkcs11'`. */
  pkcs11Module: string | undefined;
  /** Label of the PKCS#11 token (exact match). */
  pkcs11TokenLabel: string | undefined;
  /** Brute-force protection (the four `TESSERA_AUTH_*` rows). */
  authFailureLimits: FailureLimits;
  /**
   * Redis URL for the state every instance shares (failure counts, one-time jtis). Default:
   * the PostgreSQL database when the store is one, else this machine only.
   */
  sharedState: string | undefined;
  /** Issue 22: the token quota of clients without one (`10/s,5000/d`); undefined = none. */
  tokenQuota: string | undefined;
  /** Issue 22: `enforce` (429 past a quota) or `observe` (log only). */
  tokenQuotaMode: 'enforce' | 'observe';
  /** Issue 22: reuse a still-fresh token for every client. */
  reuseTokens: boolean;
  /** PEM certificate chain for HTTPS; with `tlsKey`. Default: plain HTTP. */
  tlsCert: string | undefined;
  tlsKey: string | undefined;
  /** CAs of client certificates (RFC 8705 mTLS), asked for and checked when set. */
  tlsClientCa: string | undefined;
  /** Addresses or CIDR subnets whose forwarded client certificate header is trusted. */
  trustedProxies: string[];
  /** Header a trusted proxy puts the URL-encoded PEM client certificate in. */
  clientCertHeader: string;
  /** Largest accepted request body in bytes at the OAuth endpoints (embedders only). 16 KiB. */
  bodyLimit: number;
  /** pino level. Default info. */
  logLevel: string;
  /** How log lines are written: JSON (default) or pino-pretty's. */
  logFormat: 'json' | 'pretty';
  /** Where events are POSTed (`--events-webhook`); undefined: none are delivered. */
  eventsWebhook: string | undefined;
  /** OpenTelemetry tracing; undefined (the default) is off. */
  tracing: TracingSettings | undefined;
  // --- issue 20: the console's sign-in for people --------------------------------------------
  /** OpenID Provider of the console; undefined: secret sign-in only. */
  consoleOidcIssuer: string | undefined;
  consoleOidcClientId: string | undefined;
  /** Undefined: a public client (PKCE only). */
  consoleOidcClientSecret: string | undefined;
  /** ID token claim whose values `consoleRoles` maps. Default `groups`. */
  consoleOidcRolesClaim: string;
  /** Group → role pairs (`--console-role GROUP=ROLE`), or triples with a tenant (`@TENANT`). */
  consoleRoles: RoleMapping[];
  /** Whether the console offers the admin-client-secret sign-in. Default true. */
  consoleSecretSignIn: boolean;
  /** The `acr` admin actions of a person need. */
  consoleRequireAcr: string | undefined;
  /** Idle and absolute session lifetimes (s). Defaults 1800 and 43200. */
  consoleSessionIdle: number;
  consoleSessionMax: number;
  /** Issue 19: claims each granted scope adds (`--scope-claims`). Default: none. */
  scopeClaims: ScopeClaims | undefined;
  /** Issue 19: the token hook (`--token-hook`); its secret is read apart (tokenHookSecret). */
  tokenHook: TokenHookSettings | undefined;
  // Issue 16 (security round two).
  /** `private_key_jwt` `aud`: the issuer exactly (default), or also the token endpoint URL. */
  assertionAudience: 'issuer' | 'any';
  /** Longest accepted assertion lifetime, now to `exp`, in seconds. Default 300. */
  assertionMaxLifetime: number;
  /** A separate listener for `/metrics` (then not served on the main port). Default none. */
  metricsListen: { host: string; port: number } | undefined;
  /** Bearer token `/metrics` requires. Default none (open). */
  metricsToken: string | undefined;
  /** Whether token metrics carry a `client_id` label. Default false. */
  metricsClientLabels: boolean;
  // Issue 25 (FAPI 2.0, DPoP nonces).
  /** `fapi2`: every client under the FAPI 2.0 Security Profile. Default none. */
  profile: 'fapi2' | undefined;
  /** Longest token lifetime under the FAPI 2.0 profile (seconds). Default 600. */
  fapiMaxTokenLifetime: number;
  /** RFC 9449 §8 server nonces in DPoP proofs at the token endpoint. Default false. */
  dpopNonce: boolean;
}

/** Where the token hook is and how it is called; the secret is not part of the settings. */
export interface TokenHookSettings {
  url: string;
  /** Longest wait for its answer (ms). Default 300. */
  timeoutMs: number;
  /** `deny`: a failed call refuses the token (503); `allow`: issues it without the hook. */
  failure: 'deny' | 'allow';
}

export type ConfigOverrides = Partial<ServerConfig>;

/** The console's sign-in settings (issue 20): an issuer and a client_id go together. */
function consoleSettings(
  read: <T>(row: Option<T>) => T | undefined,
  value: <T>(row: Option<T>) => T,
) {
  const consoleOidcIssuer = read(options.consoleOidcIssuer);
  const consoleOidcClientId = read(options.consoleOidcClientId);
  if ((consoleOidcIssuer === undefined) !== (consoleOidcClientId === undefined)) {
    throw new ConfigError(
      'TESSERA_CONSOLE_OIDC_ISSUER (--console-oidc-issuer) and TESSERA_CONSOLE_OIDC_CLIENT_ID (--console-oidc-client-id) go together',
    );
  }
  const consoleSecretSignIn = value(options.consoleSecretSignIn);
  return {
    consoleOidcIssuer,
    consoleOidcClientId,
    consoleOidcClientSecret: read(options.consoleOidcClientSecret),
    consoleOidcRolesClaim: value(options.consoleOidcRolesClaim),
    consoleRoles: read(options.consoleRoles) ?? [],
    consoleSecretSignIn,
    consoleRequireAcr: read(options.consoleRequireAcr),
    consoleSessionIdle: value(options.consoleSessionIdle),
    consoleSessionMax: value(options.consoleSessionMax),
  };
}

/** Builds the configuration from the environment, then typed overrides on top. */
export function loadConfig(
  env: NodeJS.ProcessEnv = processEnvironment(),
  overrides: ConfigOverrides = {},
): ServerConfig {
  return configFrom({ env, overrides });
}

/**
 * The configuration from every source, highest precedence first: overrides (embedders),
 * flags, environment, file, then the table's defaults.
 */
export function configFrom(sources: Sources): ServerConfig {
  const read = <T>(row: Option<T>): T | undefined => readOption(row, sources);
  const value = <T>(row: Option<T>): T => optionValue(row, sources);
  const database = read(options.database);
  const dataDir = resolveDataDir(read(options.dataDir), database);
  const tlsCert = read(options.tlsCert);
  const tlsKey = read(options.tlsKey);
  if ((tlsCert === undefined) !== (tlsKey === undefined)) {
    throw new ConfigError(
      'TESSERA_TLS_CERT (--tls-cert) and TESSERA_TLS_KEY (--tls-key) go together',
    );
  }
  const overrides = sources.overrides as ConfigOverrides | undefined;
  const profile = read(options.profile);
  // Embedders may pass the hook and the scope claims as typed values (not file paths).
  const hookUrl = overrides?.tokenHook?.url ?? read(options.tokenHook);
  if (hookUrl !== undefined && tokenHookSecret(sources.env ?? {}) === undefined) {
    throw new ConfigError(
      'TESSERA_TOKEN_HOOK_SECRET must be set with the token hook (--token-hook or TESSERA_TOKEN_HOOK)',
      'tokenHookSecret',
    );
  }
  return {
    tlsCert,
    tlsKey,
    tlsClientCa: read(options.tlsClientCa),
    trustedProxies: read(options.trustedProxies) ?? [],
    clientCertHeader: value(options.clientCertHeader),
    port: value(options.port),
    host: value(options.host),
    issuer:
      read(options.issuer) ??
      listenIssuer(value(options.host), value(options.port), tlsCert !== undefined),
    dataDir,
    database: database ?? defaultDatabase(dataDir),
    databaseReplicas: replicasOf(database, read(options.databaseReplicas) ?? []),
    preset: read(options.preset),
    // Embedders may pass the map itself.
    tenantHosts: overrides?.tenantHosts ?? new Map(read(options.tenantHosts) ?? []),
    signingAlg: profileSigningAlg(profile, read(options.signingAlg), value(options.signingAlg)),
    defaultTokenTtl: value(options.defaultTokenTtl),
    defaultAudience: read(options.defaultAudience),
    jwksMaxAge: value(options.jwksMaxAge),
    keyRotationDays: read(options.keyRotationDays),
    signingKeys: value(options.signingKeys),
    signOn: value(options.signOn),
    pkcs11Module: read(options.pkcs11Module),
    pkcs11TokenLabel: read(options.pkcs11TokenLabel),
    authFailureLimits: overrides?.authFailureLimits ?? {
      perClient: value(options.authMaxFailuresPerClient),
      perAddress: value(options.authMaxFailuresPerAddress),
      windowSeconds: value(options.authFailureWindow),
      lockSeconds: value(options.authLockSeconds),
    },
    sharedState: read(options.sharedState),
    tokenQuota: read(options.tokenQuota),
    tokenQuotaMode: value(options.tokenQuotaMode),
    reuseTokens: value(options.reuseTokens),
    bodyLimit: overrides?.bodyLimit ?? 16 * 1024,
    logLevel: value(options.logLevel),
    logFormat: value(options.logFormat),
    eventsWebhook: read(options.eventsWebhook),
    tracing:
      overrides?.tracing ??
      tracingSettings({
        otelEndpoint: read(options.otelEndpoint),
        otelStandardEndpoint: read(options.otelStandardEndpoint),
        otelTracesEndpoint: read(options.otelTracesEndpoint),
        otelServiceName: value(options.otelServiceName),
        otelSdkDisabled: value(options.otelSdkDisabled),
        otelTracesSampler: value(options.otelTracesSampler),
        otelTracesSamplerArg: value(options.otelTracesSamplerArg),
      }),
    scopeClaims: overrides?.scopeClaims ?? read(options.scopeClaims),
    tokenHook:
      overrides?.tokenHook ??
      (hookUrl === undefined
        ? undefined
        : {
            url: hookUrl,
            timeoutMs: value(options.tokenHookTimeout),
            failure: value(options.tokenHookFailure),
          }),
    assertionAudience: value(options.assertionAudience),
    assertionMaxLifetime: value(options.assertionMaxLifetime),
    metricsListen: read(options.metricsListen),
    metricsToken: read(options.metricsToken),
    metricsClientLabels: value(options.metricsClientLabels),
    // Issue 25.
    profile,
    fapiMaxTokenLifetime: value(options.fapiMaxTokenLifetime),
    dpopNonce: value(options.dpopNonce),
    ...consoleSettings(read, value),
  };
}

/** Replicas only make sense for a PostgreSQL primary: said at start-up, naming the option. */
function replicasOf(database: string | undefined, replicas: string[]): string[] {
  if (replicas.length > 0 && !/^postgres(ql)?:\/\//.test(database ?? ''))
    throw new ConfigError(
      'TESSERA_DATABASE_REPLICA (--database-replica) needs a PostgreSQL primary in DATABASE_URL (--database)',
      'databaseReplicas',
    );
  return replicas;
}

/**
 * The issuer when `TESSERA_ISSUER` is unset: the listen address, so discovery and `iss` name
 * the port the server really uses. A loopback or wildcard address becomes `localhost` (the
 * wildcard's real names are unknown here); `serve` warns that production should set it.
 */
export function listenIssuer(host: string, port: number, tls: boolean): string {
  const local = ['', '127.0.0.1', '::1', '0.0.0.0', '::', 'localhost'].includes(host);
  const name = local ? 'localhost' : host.includes(':') ? `[${host}]` : host;
  return `${tls ? 'https' : 'http'}://${name}:${port}`;
}

/**
 * The FAPI 2.0 profile makes PS256 the default signing algorithm and refuses RS256 (FAPI 2.0
 * Security Profile §5.4.1: PS256, ES256 or EdDSA only), naming the setting.
 */
function profileSigningAlg(
  profile: 'fapi2' | undefined,
  explicit: SigningAlgorithm | undefined,
  fallback: SigningAlgorithm,
): SigningAlgorithm {
  if (profile !== 'fapi2') return explicit ?? fallback;
  if (explicit === 'RS256')
    throw new ConfigError(
      'TESSERA_SIGNING_ALG (--signing-alg) RS256 is not allowed with TESSERA_PROFILE (--profile) fapi2: FAPI 2.0 allows PS256, ES256 or EdDSA',
      'signingAlg',
    );
  return explicit ?? 'PS256';
}

/**
 * Every problem with the settings, not only the first: what `tessera config check` needs.
 * Empty when `configFrom` and `serveSettings` would both succeed.
 */
export function configProblems(sources: Sources): ConfigError[] {
  const problems: ConfigError[] = [];
  for (const row of optionRows) {
    try {
      readOption(row, sources);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems.push(error);
    }
  }
  if (problems.length > 0) return problems;
  try {
    configFrom(sources);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems.push(error);
  }
  return problems;
}

export type SignOn = 'thread-pool' | 'event-loop';

/** What only the `serve` process itself reads: how many workers, how long a stop may take. */
export interface ServeSettings {
  workers: number;
  shutdownTimeout: number;
  /** libuv's pool size as bin/thread-pool.cjs left it (for the start-up log). */
  threadPool: number;
}

export function serveSettings(sources: Sources): ServeSettings {
  return {
    workers: readOption(options.workers, sources) ?? availableParallelism(),
    shutdownTimeout: optionValue(options.shutdownTimeout, sources),
    threadPool: optionValue(options.threadPool, sources),
  };
}

/** `TESSERA_EVENTS_WEBHOOK_SECRET`: kept out of `ServerConfig`, like the key-encryption key. */
export function webhookSecretSetting(
  env: NodeJS.ProcessEnv = processEnvironment(),
): string | undefined {
  return readOption(options.eventsWebhookSecret, { env });
}

/** `TESSERA_TOKEN_HOOK_SECRET`: like the KEK, kept out of `ServerConfig`. */
export function tokenHookSecret(env: NodeJS.ProcessEnv = processEnvironment()): string | undefined {
  return readOption(options.tokenHookSecret, { env });
}

/** `TESSERA_KEK`: kept out of `ServerConfig` so a secret never travels with the settings. */
export function kekSetting(env: NodeJS.ProcessEnv = processEnvironment()): string | undefined {
  return readOption(options.kek, { env });
}

/** The PKCS#11 PIN settings: kept out of `ServerConfig`, like the KEK. */
export function pkcs11PinSettings(env: NodeJS.ProcessEnv = processEnvironment()): {
  pin: string | undefined;
  pinFile: string | undefined;
} {
  return {
    pin: readOption(options.pkcs11Pin, { env }),
    pinFile: readOption(options.pkcs11PinFile, { env }),
  };
}

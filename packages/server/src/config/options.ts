import { signingAlgorithms, type SigningAlgorithm } from '@tessera/protocol';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { ClaimsError, validScopeClaims, type ScopeClaims } from '../claims/extra-claims.js';
import { defaultFailureLimits } from '../client-auth/failure-limiter.js';
import { isAdminRole, type AdminRole } from '../endpoints/admin/admin-roles.js';
import { decodeKek } from '../lib/kek.js';
import { presets } from '../presets/index.js';
import { parseDatabaseUrl } from '../store/open-store.js';
import { defaultTenant, isTenantName } from '../tenants/tenant-name.js';
import {
  ConfigError,
  allCommands,
  commandsOf,
  integer,
  InvalidValue,
  list,
  oneOf,
  string,
  wholeNumber,
  type CommandName,
  type Option,
  type Raw,
  type Source,
} from './option.js';
import { paths } from './paths.js';
import { samplerNames, type SamplerName } from '../telemetry/tracing-settings.js';
import { canonicalQuota } from '../quotas/token-quota.js';

/**
 * The option table: every setting of the server and the CLI, once. `loadConfig`, the serve
 * flags, `tessera --help` and the README's settings table are made from it (a test compares
 * the README with it). This module is also the only one that reads `process.env`.
 */
export function processEnvironment(): NodeJS.ProcessEnv {
  return process.env;
}

const option = <T>(row: Option<T>): Option<T> => row;

const issuer = (raw: Raw): string => {
  const value = string(raw).replace(/\/+$/, '');
  try {
    const url = new URL(value);
    // `localhost:8080` parses as a URL with scheme "localhost:": not an issuer.
    if (!['http:', 'https:'].includes(url.protocol) || url.search || url.hash) throw new Error();
  } catch {
    throw new InvalidValue(
      `must be an http(s) URL without query or fragment, got ${JSON.stringify(value)}`,
    );
  }
  return value;
};

// --- issue 20 parsers --------------------------------------------------------------------
const loopbackHosts = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/;

/** An OpenID Provider's issuer: https, or http on a loopback host (tests, local set-ups). */
const oidcIssuer = (raw: Raw): string => {
  const value = string(raw);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidValue(`must be an https URL, got ${JSON.stringify(value)}`);
  }
  if (url.search || url.hash || !(url.protocol === 'https:' || url.protocol === 'http:'))
    throw new InvalidValue(
      `must be an https URL without query or fragment, got ${JSON.stringify(value)}`,
    );
  if (url.protocol === 'http:' && !loopbackHosts.test(url.hostname))
    throw new InvalidValue(
      `must be https (http only on a loopback host), got ${JSON.stringify(value)}`,
    );
  return value;
};

/** RFC 9068 `aud`: an absolute URI without a fragment, as client audiences are. */
const audience = (raw: Raw): string => {
  const value = string(raw);
  let ok = false;
  try {
    ok = new URL(value).protocol !== '' && !value.includes('#');
  } catch {
    ok = false;
  }
  if (!ok)
    throw new InvalidValue(
      `must be an absolute URI without a fragment, got ${JSON.stringify(value)}`,
    );
  return value;
};

/**
 * `GROUP=ROLE` or `GROUP=ROLE@TENANT` entries; the last one for a group (on a tenant) wins.
 * Embedders may pass `[group, role]` or `[group, role, tenant]` tuples instead of text.
 */
const roleMappings = (raw: Raw): RoleMapping[] =>
  (Array.isArray(raw) ? (raw as readonly unknown[]) : list(raw)).map((entry) =>
    roleMapping(
      Array.isArray(entry)
        ? `${String(entry[0])}=${String(entry[1])}${entry.length > 2 ? `@${String(entry[2])}` : ''}`
        : String(entry),
    ),
  );

/** A group's role: deployment-wide, or (issue 21) on one tenant only. */
export type RoleMapping =
  [group: string, role: AdminRole] | [group: string, role: AdminRole, tenant: string];

const roleMapping = (entry: string): RoleMapping => {
  const at = entry.lastIndexOf('=');
  const [group, value] = [entry.slice(0, at), entry.slice(at + 1)];
  const [role, tenant] = value.includes('@')
    ? [value.slice(0, value.indexOf('@')), value.slice(value.indexOf('@') + 1)]
    : [value, undefined];
  if (at < 1 || !isAdminRole(role))
    throw new InvalidValue(
      `entries must be GROUP=ROLE or GROUP=ROLE@TENANT with ROLE viewer, operator or admin, got ${JSON.stringify(entry)}`,
    );
  if (tenant === undefined) return [group, role];
  if (!isTenantName(tenant) || tenant === defaultTenant)
    throw new InvalidValue(
      `the TENANT of GROUP=ROLE@TENANT must be a tenant's name (not default: GROUP=ROLE is the deployment's role), got ${JSON.stringify(entry)}`,
    );
  return [group, role, tenant];
};

/** A host name or an IP address to listen on; empty keeps meaning "every address". */
const listenHost = (raw: Raw): string => {
  const value = string(raw);
  if (
    value !== '' &&
    isIP(value) === 0 &&
    !/^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(value)
  )
    throw new InvalidValue(`must be a host name or an IP address, got ${JSON.stringify(value)}`);
  return value;
};

/**
 * Kept to the message `--database` always gave (exit 1, not a usage error), now naming the
 * variable or file key the value came from.
 */
const database = (raw: Raw, source: Source): string => {
  const value = string(raw);
  try {
    parseDatabaseUrl(value);
  } catch {
    const name = source === 'env' ? 'DATABASE_URL' : source === 'file' ? 'database' : '--database';
    throw new ConfigError(
      `${name} ${value}: expected sqlite:PATH or postgres://…`,
      'database',
      source === 'flag' ? undefined : source,
    );
  }
  return value;
};

const preset = (raw: Raw): string => {
  const value = string(raw);
  if (!presets.has(value))
    throw new InvalidValue(
      `names an unknown preset ${JSON.stringify(value)}; known presets: ${[...presets.keys()].join(', ')}`,
    );
  return value;
};

/** pino's levels. */
export const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Never echoes the value: it is a secret. */
const kek = (raw: Raw): string => {
  const value = string(raw);
  try {
    for (const part of value.split(',')) decodeKek(part.trim(), 'TESSERA_KEK');
  } catch {
    throw new InvalidValue('must hold 32-byte keys encoded as base64 or hex, comma-separated');
  }
  return value;
};

const proxies = (raw: Raw): string[] => {
  const entries = list(raw);
  for (const entry of entries) {
    const [address, prefix, extra] = entry.split('/');
    const family = isIP(address ?? '');
    if (
      family === 0 ||
      extra !== undefined ||
      (prefix !== undefined &&
        (!/^\d+$/.test(prefix) || Number(prefix) > (family === 6 ? 128 : 32)))
    ) {
      throw new InvalidValue(
        `entries must be IP addresses or CIDR subnets, got ${JSON.stringify(entry)}`,
      );
    }
  }
  return entries;
};

const headerName = (raw: Raw): string => {
  const value = string(raw);
  if (!/^[A-Za-z0-9-]+$/.test(value))
    throw new InvalidValue(`must be a header name, got ${JSON.stringify(value)}`);
  return value;
};

/** An http(s) URL, as given (the OTLP endpoints, the events webhook). */
const httpUrl = (raw: Raw): string => {
  const value = string(raw).trim();
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (url?.protocol !== 'http:' && url?.protocol !== 'https:')
    throw new InvalidValue(`must be an http(s) URL, got ${JSON.stringify(value)}`);
  return value;
};

const ratio = (raw: Raw): number => {
  const value = Number(string(raw));
  if (!(value >= 0 && value <= 1))
    throw new InvalidValue(`must be a number from 0 to 1, got ${JSON.stringify(raw)}`);
  return value;
};

const replicaUrls = (raw: Raw): string[] => {
  const urls = list(raw);
  for (const url of urls)
    if (!/^postgres(ql)?:\/\//.test(url))
      throw new InvalidValue(
        `entries must be postgres://… URLs, got ${JSON.stringify(url.replace(/\/\/[^@/]*@/, '//…@'))}`,
      );
  return urls;
};

/** Issue 21: `HOST=TENANT` pairs, host names lower-cased, each host once. */
const tenantHosts = (raw: Raw): Array<[string, string]> => {
  const pairs: Array<[string, string]> = [];
  for (const entry of list(raw)) {
    const match = /^([A-Za-z0-9.-]+(?::\d{1,5})?)=([a-z0-9][a-z0-9-]{0,62})$/.exec(entry);
    if (!match)
      throw new InvalidValue(
        `entries must be HOST=TENANT (a host name, optionally :port, and a tenant name [a-z0-9][a-z0-9-]{0,62}), got ${JSON.stringify(entry.slice(0, 80))}`,
      );
    const host = match[1]!.toLowerCase();
    if (pairs.some(([known]) => known === host))
      throw new InvalidValue(`host ${host} is mapped twice`);
    pairs.push([host, match[2]!]);
  }
  return pairs;
};

const port = (raw: Raw, source: Source): number =>
  // The flag always took digits only; the variable, anything Number() reads as an integer.
  (source === 'flag' ? wholeNumber(0, 65535) : integer(0, 65535))(raw);

const redisUrl = (raw: Raw): string => {
  const value = string(raw);
  let protocol: string;
  try {
    protocol = new URL(value).protocol;
  } catch {
    throw new InvalidValue('must be a redis:// or rediss:// URL');
  }
  if (protocol !== 'redis:' && protocol !== 'rediss:')
    throw new InvalidValue(`must be a redis:// or rediss:// URL, got a ${protocol} URL`);
  return value;
};

const scopeClaimsFile = (raw: Raw): ScopeClaims => {
  const path = string(raw);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new InvalidValue(`cannot read ${path}: ${(error as Error).message}`);
  }
  try {
    return validScopeClaims(JSON.parse(text));
  } catch (error) {
    if (error instanceof SyntaxError) throw new InvalidValue(`${path} is not JSON`);
    if (error instanceof ClaimsError) throw new InvalidValue(`${path}: ${error.message}`);
    throw error;
  }
};

const hookUrl = (raw: Raw): string => {
  const value = string(raw);
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.hash)
    throw new InvalidValue('must be an http(s) URL without fragment');
  return value;
};

/** `HOST:PORT` (IPv6 in brackets: `[::1]:9090`). */
const hostPort = (raw: Raw): { host: string; port: number } => {
  // An embedder's typed override ({ host, port }) is taken as given.
  const typed = raw as unknown as { host?: unknown; port?: unknown };
  if (typeof typed === 'object' && typeof typed.host === 'string' && typeof typed.port === 'number')
    return { host: typed.host, port: typed.port };
  const value = string(raw);
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(value);
  const port = Number(match?.[3]);
  if (!match || port > 65535)
    throw new InvalidValue(`must be HOST:PORT, got ${JSON.stringify(value)}`);
  return { host: match[1] ?? match[2]!, port };
};

/** A switch: the bare flag, or `true`/`false` (`1`/`0`, `on`/`off`, `yes`/`no`). */
const onOff = (raw: Raw): boolean => {
  if (typeof raw === 'boolean') return raw;
  const value = string(raw).toLowerCase();
  if (['true', '1', 'on', 'yes'].includes(value)) return true;
  if (['false', '0', 'off', 'no'].includes(value)) return false;
  throw new InvalidValue(`must be true or false, got ${JSON.stringify(value)}`);
};

const failures = (name: string, env: string, fallback: number, max: number, doc: string) =>
  option<number>({
    name,
    env,
    default: fallback,
    doc,
    parse: integer(1, max),
  });

export const options = {
  port: option<number>({
    name: 'port',
    flag: '--port',
    metavar: 'N',
    env: 'PORT',
    default: 8080,
    doc: 'listen port',
    parse: port,
  }),
  host: option<string>({
    name: 'host',
    flag: '--host',
    metavar: 'H',
    env: 'HOST',
    emptyIsValue: true,
    default: '127.0.0.1',
    doc: 'listen address',
    parse: listenHost,
  }),
  issuer: option<string>({
    name: 'issuer',
    flag: '--issuer',
    metavar: 'URL',
    env: 'TESSERA_ISSUER',
    emptyIsValue: true,
    defaultDoc: '`http://localhost:PORT` from the listen address (a warning says to set it)',
    doc: 'issuer (`iss`, discovery)',
    parse: issuer,
  }),
  dataDir: option<string>({
    name: 'dataDir',
    env: 'TESSERA_DATA_DIR',
    defaultDoc: `\`./${paths.defaultDataDir}\`, or the SQLite file’s directory`,
    doc: 'data directory (SQLite file, key-encryption key file)',
    commands: allCommands,
  }),
  database: option<string>({
    name: 'database',
    flag: '--database',
    metavar: 'URL',
    env: 'DATABASE_URL',
    defaultDoc: `\`sqlite:./${paths.defaultDataDir}/${paths.databaseFile}\``,
    doc: 'database: `sqlite:PATH` or `postgres://…`',
    commands: allCommands.filter((command) => command !== 'migrate-store'),
    parse: database,
  }),
  // Issue 24 (read replicas): rows of this block.
  databaseReplicas: option<string[]>({
    name: 'databaseReplicas',
    flag: '--database-replica',
    metavar: 'URL',
    multiple: true,
    env: 'TESSERA_DATABASE_REPLICA',
    defaultDoc: 'none (read the primary)',
    doc: 'PostgreSQL replica to read from; writes go to `--database` (flag repeatable, variable comma-separated)',
    parse: replicaUrls,
  }),
  // End of issue 24's block.
  tenantHosts: option<Array<[string, string]>>({
    name: 'tenantHosts',
    flag: '--tenant-host',
    metavar: 'HOST=TENANT',
    multiple: true,
    env: 'TESSERA_TENANT_HOSTS',
    defaultDoc: 'none (tenants by path: /t/TENANT/…)',
    doc: 'requests whose Host (behind a `--trusted-proxy`: `X-Forwarded-Host`) is HOST are served as tenant TENANT (issue 21; flag repeatable, variable comma-separated)',
    parse: tenantHosts,
  }),
  preset: option<string>({
    name: 'preset',
    flag: '--preset',
    metavar: 'NAME',
    env: 'TESSERA_PRESET',
    defaultDoc: 'none (RFC 6749)',
    doc: 'provider dialect; the RFC endpoints stay mounted beside it',
    parse: preset,
  }),
  signingAlg: option<SigningAlgorithm>({
    name: 'signingAlg',
    flag: '--signing-alg',
    metavar: 'ALG',
    env: 'TESSERA_SIGNING_ALG',
    emptyIsValue: true,
    default: 'RS256',
    defaultDoc: `\`RS256\` (${signingAlgorithms
      .filter((alg) => alg !== 'RS256')
      .map((alg) => `\`${alg}\``)
      .join(', ')})`,
    doc: 'signing algorithm of new keys',
    commands: ['serve', 'keys'],
    parse: oneOf(signingAlgorithms),
  }),
  defaultTokenTtl: option<number>({
    name: 'defaultTokenTtl',
    env: 'TESSERA_TOKEN_TTL',
    default: 3600,
    doc: 'default token lifetime (s)',
    parse: integer(1, 86400 * 366),
  }),
  defaultAudience: option<string>({
    name: 'defaultAudience',
    env: 'TESSERA_DEFAULT_AUDIENCE',
    defaultDoc: 'the issuer',
    doc: '`aud` of clients registered without an audience',
    parse: audience,
  }),
  jwksMaxAge: option<number>({
    name: 'jwksMaxAge',
    env: 'TESSERA_JWKS_MAX_AGE',
    default: 300,
    doc: 'JWKS `Cache-Control: max-age` (s); also the key propagation delay',
    commands: ['serve', 'keys'],
    parse: integer(0, 86400),
  }),
  keyRotationDays: option<number>({
    name: 'keyRotationDays',
    flag: '--key-rotation-days',
    metavar: 'N',
    env: 'TESSERA_KEY_ROTATION_DAYS',
    defaultDoc: 'never',
    doc: 'rotate the signing key when the active one is this many days old',
    parse: integer(1, 3650),
  }),
  signOn: option<'thread-pool' | 'event-loop'>({
    name: 'signOn',
    flag: '--sign-on',
    metavar: 'WHERE',
    env: 'TESSERA_SIGN_ON',
    default: 'thread-pool',
    defaultDoc: '`thread-pool` (or `event-loop`)',
    doc: "where sealed keys sign tokens: the libuv pool, or each worker's event loop (no thread hop; see Performance)",
    commands: ['serve'],
    parse: oneOf(['thread-pool', 'event-loop'] as const),
  }),
  signingKeys: option<'sealed' | 'pkcs11'>({
    name: 'signingKeys',
    flag: '--signing-keys',
    metavar: 'STORE',
    env: 'TESSERA_SIGNING_KEYS',
    default: 'sealed',
    defaultDoc: '`sealed` (or `pkcs11`)',
    doc: 'where new signing keys live: `sealed` under the KEK in the store, `pkcs11` in an HSM token',
    commands: ['serve', 'keys'],
    parse: oneOf(['sealed', 'pkcs11'] as const),
  }),
  pkcs11Module: option<string>({
    name: 'pkcs11Module',
    flag: '--pkcs11-module',
    metavar: 'PATH',
    env: 'TESSERA_PKCS11_MODULE',
    doc: 'PKCS#11 library of the HSM (with `--signing-keys pkcs11`)',
    commands: ['serve', 'keys'],
  }),
  pkcs11TokenLabel: option<string>({
    name: 'pkcs11TokenLabel',
    flag: '--pkcs11-token-label',
    metavar: 'LABEL',
    env: 'TESSERA_PKCS11_TOKEN_LABEL',
    doc: 'label of the PKCS#11 token holding the keys (exact match, never a prefix)',
    commands: ['serve', 'keys'],
  }),
  pkcs11Pin: option<string>({
    name: 'pkcs11Pin',
    env: 'TESSERA_PKCS11_PIN',
    // A secret: from the environment (a secret manager) only, never a flag or a file.
    file: false,
    doc: 'PKCS#11 token user PIN',
    commands: ['serve', 'keys'],
  }),
  pkcs11PinFile: option<string>({
    name: 'pkcs11PinFile',
    env: 'TESSERA_PKCS11_PIN_FILE',
    doc: 'file holding the PKCS#11 token user PIN (instead of `TESSERA_PKCS11_PIN`)',
    commands: ['serve', 'keys'],
  }),
  kek: option<string>({
    name: 'kek',
    env: 'TESSERA_KEK',
    // A secret: from the environment (a secret manager) only, never a flag or a file.
    file: false,
    defaultDoc: `generated \`0600\` file \`${paths.kekFile}\` in the data directory`,
    doc: 'key-encryption key (32 bytes, base64 or hex; `NEW,OLD` while rotating)',
    commands: ['serve', 'clients', 'keys', 'kek', 'migrate-store'],
    parse: kek,
  }),
  authMaxFailuresPerClient: failures(
    'authMaxFailuresPerClient',
    'TESSERA_AUTH_MAX_FAILURES_PER_CLIENT',
    defaultFailureLimits.perClient,
    1_000_000,
    'failed client authentications of one `client_id` from one source address that make that address wait for it',
  ),
  authMaxFailuresPerAddress: failures(
    'authMaxFailuresPerAddress',
    'TESSERA_AUTH_MAX_FAILURES_PER_ADDRESS',
    defaultFailureLimits.perAddress,
    1_000_000,
    'failed client authentications from one source address (IPv6: its /64), any `client_id`, that make it wait',
  ),
  authFailureWindow: failures(
    'authFailureWindow',
    'TESSERA_AUTH_FAILURE_WINDOW',
    defaultFailureLimits.windowSeconds,
    86400,
    'window in which failures are counted (s)',
  ),
  authLockSeconds: failures(
    'authLockSeconds',
    'TESSERA_AUTH_LOCK_SECONDS',
    defaultFailureLimits.lockSeconds,
    86400,
    'how long a lock lasts (s)',
  ),
  // Issue 16: one state across instances (shared-state/).
  sharedState: option<string>({
    name: 'sharedState',
    flag: '--shared-state',
    metavar: 'URL',
    env: 'TESSERA_SHARED_STATE_URL',
    defaultDoc: 'the PostgreSQL store, else this machine only',
    doc: 'shared failure counts and one-time `jti`s across instances: `redis://…` or `rediss://…`',
    parse: redisUrl,
  }),
  // Issue 22: per-client token quotas and reuse of a still-fresh token (quotas/, tokens/).
  tokenQuota: option<string>({
    name: 'tokenQuota',
    env: 'TESSERA_TOKEN_QUOTA',
    defaultDoc: 'none (no quota)',
    doc: 'token quota of every client without one of its own: `N/PERIOD[,N/PERIOD…]`, PERIOD `s`, `min`, `h` or `d`',
    parse: (raw) => {
      try {
        return canonicalQuota(string(raw));
      } catch (error) {
        throw new InvalidValue((error as Error).message);
      }
    },
  }),
  tokenQuotaMode: option<'enforce' | 'observe'>({
    name: 'tokenQuotaMode',
    flag: '--token-quota-mode',
    metavar: 'MODE',
    env: 'TESSERA_TOKEN_QUOTA_MODE',
    default: 'enforce',
    doc: '`enforce` answers 429 past a quota; `observe` counts and logs it without refusing',
    parse: oneOf(['enforce', 'observe'] as const),
  }),
  reuseTokens: option<boolean>({
    name: 'reuseTokens',
    flag: '--reuse-tokens',
    switch: true,
    env: 'TESSERA_REUSE_TOKENS',
    default: false,
    doc: 'answer every client a still-fresh token again (half its lifetime left) instead of signing a new one',
    parse: onOff,
  }),
  tlsCert: option<string>({
    name: 'tlsCert',
    flag: '--tls-cert',
    metavar: 'PEM',
    env: 'TESSERA_TLS_CERT',
    defaultDoc: 'plain HTTP',
    doc: 'PEM certificate chain file for HTTPS (with the key)',
  }),
  tlsKey: option<string>({
    name: 'tlsKey',
    flag: '--tls-key',
    metavar: 'PEM',
    env: 'TESSERA_TLS_KEY',
    defaultDoc: 'plain HTTP',
    doc: 'PEM private key file for HTTPS (with the certificate)',
  }),
  tlsClientCa: option<string>({
    name: 'tlsClientCa',
    flag: '--tls-client-ca',
    metavar: 'PEM',
    env: 'TESSERA_TLS_CLIENT_CA',
    defaultDoc: 'no client certificates',
    doc: 'PEM bundle of CAs issuing client certificates (RFC 8705 mTLS)',
  }),
  trustedProxies: option<string[]>({
    name: 'trustedProxies',
    flag: '--trusted-proxy',
    metavar: 'ADDR',
    multiple: true,
    env: 'TESSERA_TRUSTED_PROXIES',
    defaultDoc: 'none',
    doc: 'proxies trusted for client certificates, `X-Forwarded-For` and (for `--tenant-host`) `X-Forwarded-Host` (IPs or CIDRs; flag repeatable, env comma list)',
    parse: proxies,
  }),
  clientCertHeader: option<string>({
    name: 'clientCertHeader',
    env: 'TESSERA_CLIENT_CERT_HEADER',
    default: 'x-client-cert',
    defaultDoc: '`X-Client-Cert`',
    doc: 'header a trusted proxy puts the URL-encoded PEM client certificate in',
    parse: headerName,
  }),
  // --- issue 20: people sign in to the console (OpenID Connect), roles, step-up ------------
  consoleOidcIssuer: option<string>({
    name: 'consoleOidcIssuer',
    flag: '--console-oidc-issuer',
    metavar: 'URL',
    env: 'TESSERA_CONSOLE_OIDC_ISSUER',
    defaultDoc: 'none: the console signs in with an admin client secret only',
    doc: 'OpenID Provider people sign in to the console with (https; http only on a loopback host)',
    parse: oidcIssuer,
  }),
  consoleOidcClientId: option<string>({
    name: 'consoleOidcClientId',
    flag: '--console-oidc-client-id',
    metavar: 'ID',
    env: 'TESSERA_CONSOLE_OIDC_CLIENT_ID',
    defaultDoc: 'none',
    doc: 'client_id of the console at the OpenID Provider (redirect_uri <issuer>/console/callback)',
  }),
  consoleOidcClientSecret: option<string>({
    name: 'consoleOidcClientSecret',
    env: 'TESSERA_CONSOLE_OIDC_CLIENT_SECRET',
    file: false,
    defaultDoc: 'none: a public client (PKCE only)',
    doc: 'client secret of the console at the OpenID Provider (client_secret_basic)',
  }),
  consoleOidcRolesClaim: option<string>({
    name: 'consoleOidcRolesClaim',
    flag: '--console-oidc-roles-claim',
    metavar: 'CLAIM',
    env: 'TESSERA_CONSOLE_OIDC_ROLES_CLAIM',
    default: 'groups',
    doc: 'ID token claim (a list or a string) whose values --console-role maps to roles',
  }),
  consoleRoles: option<RoleMapping[]>({
    name: 'consoleRoles',
    flag: '--console-role',
    metavar: 'GROUP=ROLE',
    multiple: true,
    env: 'TESSERA_CONSOLE_ROLES',
    defaultDoc: 'none',
    doc: "gives GROUP's members a role: viewer, operator or admin; ROLE@TENANT: on that tenant only (flag repeatable, variable comma-separated)",
    parse: roleMappings,
  }),
  consoleSecretSignIn: option<boolean>({
    name: 'consoleSecretSignIn',
    flag: '--console-secret-sign-in',
    metavar: 'on|off',
    env: 'TESSERA_CONSOLE_SECRET_SIGN_IN',
    default: true,
    defaultDoc: '`on`',
    doc: "whether the console offers sign-in with an admin client's secret",
    // Embedders may pass a boolean.
    parse: (raw) => (typeof raw === 'boolean' ? raw : oneOf(['on', 'off'])(raw) === 'on'),
  }),
  consoleRequireAcr: option<string>({
    name: 'consoleRequireAcr',
    flag: '--console-require-acr',
    metavar: 'VALUE',
    env: 'TESSERA_CONSOLE_REQUIRE_ACR',
    defaultDoc: 'none',
    doc: 'acr_values asked for at sign-in; admin actions need an ID token with this acr (step-up, MFA)',
  }),
  consoleSessionIdle: option<number>({
    name: 'consoleSessionIdle',
    flag: '--console-session-idle',
    metavar: 'SECONDS',
    env: 'TESSERA_CONSOLE_SESSION_IDLE',
    default: 1800,
    doc: 'a console session ends after this long without a request (s)',
    parse: wholeNumber(60, 86400),
  }),
  consoleSessionMax: option<number>({
    name: 'consoleSessionMax',
    flag: '--console-session-max',
    metavar: 'SECONDS',
    env: 'TESSERA_CONSOLE_SESSION_MAX',
    default: 43200,
    doc: 'a console session ends this long after sign-in, however active (s)',
    parse: wholeNumber(60, 604800),
  }),
  // --- end of issue 20 ----------------------------------------------------------------------
  logLevel: option<string>({
    name: 'logLevel',
    env: 'TESSERA_LOG_LEVEL',
    emptyIsValue: true,
    default: 'info',
    doc: `log level (${logLevels.join(', ')})`,
    parse: oneOf(logLevels),
  }),
  logFormat: option<'json' | 'pretty'>({
    name: 'logFormat',
    env: 'TESSERA_LOG_FORMAT',
    default: 'json',
    doc: 'log line format: `json`, or `pretty` (pino-pretty) for a person at a terminal',
    parse: oneOf(['json', 'pretty'] as const),
  }),
  otelEndpoint: option<string>({
    name: 'otelEndpoint',
    env: 'TESSERA_OTEL_EXPORTER_OTLP_ENDPOINT',
    defaultDoc: '`OTEL_EXPORTER_OTLP_ENDPOINT`, else tracing off',
    doc: 'OpenTelemetry: OTLP/HTTP base URL spans are sent to (`/v1/traces` appended); tracing is on when set',
    parse: httpUrl,
  }),
  otelStandardEndpoint: option<string>({
    name: 'otelStandardEndpoint',
    env: 'OTEL_EXPORTER_OTLP_ENDPOINT',
    defaultDoc: 'none',
    doc: 'the standard OpenTelemetry name of the same base URL',
    parse: httpUrl,
  }),
  otelTracesEndpoint: option<string>({
    name: 'otelTracesEndpoint',
    env: 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
    defaultDoc: 'the base URL + `/v1/traces`',
    doc: 'OpenTelemetry: the traces URL itself, used as given',
    parse: httpUrl,
  }),
  otelServiceName: option<string>({
    name: 'otelServiceName',
    env: 'OTEL_SERVICE_NAME',
    default: 'tessera',
    doc: 'OpenTelemetry `service.name` of the spans',
  }),
  otelSdkDisabled: option<boolean>({
    name: 'otelSdkDisabled',
    env: 'OTEL_SDK_DISABLED',
    default: false,
    doc: 'OpenTelemetry: `true` turns tracing off whatever else is set',
    parse: (raw) => String(raw).trim().toLowerCase() === 'true',
  }),
  otelTracesSampler: option<SamplerName>({
    name: 'otelTracesSampler',
    env: 'OTEL_TRACES_SAMPLER',
    default: 'parentbased_always_on',
    doc: 'OpenTelemetry: which traces are recorded (the specification’s sampler names)',
    parse: oneOf(samplerNames),
  }),
  otelTracesSamplerArg: option<number>({
    name: 'otelTracesSamplerArg',
    env: 'OTEL_TRACES_SAMPLER_ARG',
    default: 1,
    doc: 'OpenTelemetry: the ratio of `*traceidratio` samplers, from 0 to 1',
    parse: ratio,
  }),
  eventsWebhook: option<string>({
    name: 'eventsWebhook',
    flag: '--events-webhook',
    metavar: 'URL',
    env: 'TESSERA_EVENTS_WEBHOOK',
    defaultDoc: 'none (events stay in the database)',
    doc: 'URL each event is POSTed to (JSON, signed, retried until a 2xx; loopback allowed)',
    parse: httpUrl,
  }),
  eventsWebhookSecret: option<string>({
    name: 'eventsWebhookSecret',
    env: 'TESSERA_EVENTS_WEBHOOK_SECRET',
    // A secret: from the environment (a secret manager) only, never a flag or a file.
    file: false,
    defaultDoc: 'unsigned deliveries',
    doc: 'HMAC-SHA256 key of the `Tessera-Signature` header of webhook deliveries',
  }),
  workers: option<number>({
    name: 'workers',
    flag: '--workers',
    metavar: 'N',
    env: 'TESSERA_WORKERS',
    defaultDoc: 'one per core',
    doc: 'serving processes sharing the port',
    parse: wholeNumber(1, 256),
  }),
  shutdownTimeout: option<number>({
    name: 'shutdownTimeout',
    flag: '--shutdown-timeout',
    metavar: 'SECONDS',
    env: 'TESSERA_SHUTDOWN_TIMEOUT',
    default: 10,
    doc: 'longest a graceful stop waits for requests in flight (s)',
    parse: wholeNumber(1, 3600),
  }),
  threadPool: option<number>({
    name: 'threadPool',
    env: 'UV_THREADPOOL_SIZE',
    // libuv reads it before any ES module loads (bin/thread-pool.cjs): no file can set it.
    file: false,
    default: 4,
    defaultDoc: '`4`; `1` with `ES256` or `EdDSA`',
    doc: 'libuv threads that sign tokens',
    // libuv ignores a value it cannot read; say so instead of running with 4 unannounced.
    parse: integer(1, 1024),
  }),
  config: option<string>({
    name: 'config',
    flag: '--config',
    metavar: 'FILE',
    env: 'TESSERA_CONFIG',
    // The file cannot name itself.
    file: false,
    defaultDoc: 'none',
    doc: 'TOML file of settings: these names in snake_case at the top level (`port = 8080`)',
    commands: allCommands,
  }),
  // Issue 19: claims and the token hook.
  scopeClaims: option<ScopeClaims>({
    name: 'scopeClaims',
    flag: '--scope-claims',
    metavar: 'FILE',
    env: 'TESSERA_SCOPE_CLAIMS',
    defaultDoc: 'none',
    doc: 'JSON file: scope name → claims added to tokens granting it (a client’s own win)',
    parse: scopeClaimsFile,
  }),
  tokenHook: option<string>({
    name: 'tokenHook',
    flag: '--token-hook',
    metavar: 'URL',
    env: 'TESSERA_TOKEN_HOOK',
    defaultDoc: 'none',
    doc: 'URL POSTed (signed) before each token is signed; may add claims, narrow, deny',
    parse: hookUrl,
  }),
  tokenHookSecret: option<string>({
    name: 'tokenHookSecret',
    env: 'TESSERA_TOKEN_HOOK_SECRET',
    // A secret: from the environment only, never a flag or a file.
    file: false,
    defaultDoc: 'none (required with a token hook)',
    doc: 'HMAC-SHA256 key of the token hook’s `Tessera-Signature` header',
  }),
  tokenHookTimeout: option<number>({
    name: 'tokenHookTimeout',
    flag: '--token-hook-timeout',
    metavar: 'MS',
    env: 'TESSERA_TOKEN_HOOK_TIMEOUT',
    default: 300,
    doc: 'longest the token hook may take to answer (ms)',
    parse: integer(1, 60_000),
  }),
  tokenHookFailure: option<'deny' | 'allow'>({
    name: 'tokenHookFailure',
    flag: '--token-hook-failure',
    metavar: 'MODE',
    env: 'TESSERA_TOKEN_HOOK_FAILURE',
    default: 'deny',
    doc: 'when the hook fails: `deny` (503) or `allow` (the token without its changes)',
    parse: oneOf(['deny', 'allow'] as const),
  }),
  // ── Issue 16 (security round two): assertion policy and /metrics exposure. ──
  assertionAudience: option<'issuer' | 'any'>({
    name: 'assertionAudience',
    flag: '--assertion-audience',
    metavar: 'MODE',
    env: 'TESSERA_ASSERTION_AUDIENCE',
    default: 'issuer',
    doc: '`aud` a `private_key_jwt` assertion may name: `issuer` exactly (FAPI 2.0), or `any` (the issuer or the token endpoint URL, RFC 7523 §3)',
    parse: oneOf(['issuer', 'any'] as const),
  }),
  assertionMaxLifetime: option<number>({
    name: 'assertionMaxLifetime',
    flag: '--assertion-max-lifetime',
    metavar: 'SECONDS',
    env: 'TESSERA_ASSERTION_MAX_LIFETIME',
    default: 300,
    doc: 'longest a `private_key_jwt` assertion may be valid, from now to `exp` (s)',
    parse: integer(1, 86400),
  }),
  metricsListen: option<{ host: string; port: number }>({
    name: 'metricsListen',
    flag: '--metrics-listen',
    metavar: 'HOST:PORT',
    env: 'TESSERA_METRICS_LISTEN',
    defaultDoc: 'on the main port',
    doc: 'serve `/metrics` on this separate address only (then not on the main port)',
    parse: hostPort,
  }),
  metricsToken: option<string>({
    name: 'metricsToken',
    env: 'TESSERA_METRICS_TOKEN',
    // A secret: from the environment only, never a flag (visible in `ps`) or a file.
    file: false,
    defaultDoc: 'none: `/metrics` is open',
    doc: '`/metrics` requires `Authorization: Bearer` with this token',
  }),
  metricsClientLabels: option<boolean>({
    name: 'metricsClientLabels',
    flag: '--metrics-client-labels',
    switch: true,
    env: 'TESSERA_METRICS_CLIENT_LABELS',
    default: false,
    doc: 'label token metrics with the `client_id` (off: client_ids are not published)',
    parse: onOff,
  }),
  // ── Issue 25: FAPI 2.0 profile and DPoP server nonces. ──
  profile: option<'fapi2'>({
    name: 'profile',
    flag: '--profile',
    metavar: 'NAME',
    env: 'TESSERA_PROFILE',
    defaultDoc: 'none (per client: `clients create --profile fapi2`)',
    doc: '`fapi2`: every client under FAPI 2.0 (private_key_jwt or mTLS, sender-constrained tokens, PS256/ES256/EdDSA; signing default `PS256`)',
    parse: oneOf(['fapi2'] as const),
  }),
  fapiMaxTokenLifetime: option<number>({
    name: 'fapiMaxTokenLifetime',
    flag: '--fapi-max-token-lifetime',
    metavar: 'SECONDS',
    env: 'TESSERA_FAPI_MAX_TOKEN_LIFETIME',
    default: 600,
    doc: 'longest access token lifetime of FAPI 2.0 clients (s); longer ones are shortened',
    parse: integer(1, 86400),
  }),
  dpopNonce: option<boolean>({
    name: 'dpopNonce',
    flag: '--dpop-nonce',
    switch: true,
    env: 'TESSERA_DPOP_NONCE',
    default: false,
    doc: 'DPoP proofs at the token endpoint must carry a server nonce (RFC 9449 §8), valid across workers and instances',
    parse: onOff,
  }),
} satisfies Record<string, Option<unknown>>;

export type OptionName = keyof typeof options;

/** The rows in table order. */
export const optionRows: readonly Option<unknown>[] = Object.values(options);

/** `parseArgs` options for the flags of `command`'s settings (`--port`, `--trusted-proxy`…). */
export function flagsFor(
  command: CommandName,
): Record<string, { type: 'string' | 'boolean'; multiple?: true }> {
  const flags: Record<string, { type: 'string' | 'boolean'; multiple?: true }> = {};
  for (const row of optionRows) {
    if (row.flag === undefined || !commandsOf(row).includes(command)) continue;
    flags[row.flag.slice(2)] = row.switch
      ? { type: 'boolean' }
      : row.multiple
        ? { type: 'string', multiple: true }
        : { type: 'string' };
  }
  return flags;
}

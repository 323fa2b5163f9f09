import { signingAlgorithms, type SigningAlgorithm } from '@tessera/protocol';
import { isIP } from 'node:net';
import { defaultFailureLimits } from '../client-auth/failure-limiter.js';
import {
  allCommands,
  commandsOf,
  flag,
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
    if (url.search || url.hash) throw new Error();
  } catch {
    throw new InvalidValue(
      `must be an http(s) URL without query or fragment, got ${JSON.stringify(value)}`,
    );
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
  }),
  issuer: option<string>({
    name: 'issuer',
    flag: '--issuer',
    metavar: 'URL',
    env: 'TESSERA_ISSUER',
    emptyIsValue: true,
    default: 'http://localhost:8080',
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
  }),
  preset: option<string>({
    name: 'preset',
    flag: '--preset',
    metavar: 'NAME',
    env: 'TESSERA_PRESET',
    defaultDoc: 'none (RFC 6749)',
    doc: 'provider dialect; the RFC endpoints stay mounted beside it',
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
    boolean: true,
    env: 'TESSERA_REUSE_TOKENS',
    default: false,
    doc: 'answer every client a still-fresh token again (half its lifetime left) instead of signing a new one',
    parse: flag,
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
    doc: 'proxies trusted for client certificates and `X-Forwarded-For` (IPs or CIDRs; flag repeatable, env comma list)',
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
  logLevel: option<string>({
    name: 'logLevel',
    env: 'TESSERA_LOG_LEVEL',
    emptyIsValue: true,
    default: 'info',
    doc: 'log level (pino)',
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
    // Only reported in the start-up log; libuv itself decides what it accepts.
    parse: (raw) => Number(raw) || 4,
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
    flags[row.flag.slice(2)] = row.boolean
      ? { type: 'boolean' }
      : row.multiple
        ? { type: 'string', multiple: true }
        : { type: 'string' };
  }
  return flags;
}

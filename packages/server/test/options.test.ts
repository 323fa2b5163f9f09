/**
 * The option table (src/config/options.ts) is the one place settings are declared: these tests
 * keep loadConfig, `tessera --help`, the README's settings table and bin/thread-pool.cjs in
 * lockstep with it, and pin the defaults and accepted values it took over.
 * `TESSERA_UPDATE_README=1` rewrites the README's table from the option table.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { usage } from '../src/cli/usage.js';
import {
  ConfigError,
  configFrom,
  configProblems,
  loadConfig,
  serveSettings,
} from '../src/config.js';
import { flagSynopsis, readmeSettingsTable } from '../src/config/docs.js';
import { commandsOf, fileKey } from '../src/config/option.js';
import { flagsFor, optionRows, options } from '../src/config/options.js';
import { runCli } from './support/cli.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const serverSrc = fileURLToPath(new URL('../src/', import.meta.url));
const readmePath = join(root, 'README.md');
const start = '<!-- settings:start (generated from packages/server/src/config/options.ts) -->';
const end = '<!-- settings:end -->';

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

describe('option table', () => {
  it('is what the README’s settings table shows', () => {
    const readme = readFileSync(readmePath, 'utf8');
    const from = readme.indexOf(start);
    const to = readme.indexOf(end);
    assert.ok(from > 0 && to > from, `README.md lacks the ${start} … ${end} markers`);
    const expected = `\n\n${readmeSettingsTable()}\n\n`;
    const actual = readme.slice(from + start.length, to);
    if (actual !== expected && process.env.TESSERA_UPDATE_README) {
      writeFileSync(readmePath, readme.slice(0, from + start.length) + expected + readme.slice(to));
      return;
    }
    assert.equal(
      actual,
      expected,
      'README.md settings table differs from the option table: rerun with TESSERA_UPDATE_README=1',
    );
  });

  it('is the serve synopsis of the README’s CLI section', () => {
    const indent = ' '.repeat('tessera serve '.length);
    const synopsis = `tessera serve ${flagSynopsis('serve', indent).join(`\n${indent}`)}\n`;
    const readme = readFileSync(readmePath, 'utf8');
    if (!readme.includes(synopsis) && process.env.TESSERA_UPDATE_README) {
      // The synopsis runs from `tessera serve [` to the next CLI command.
      const from = readme.indexOf('tessera serve [');
      const to = readme.indexOf('tessera clients create', from);
      assert.ok(from > 0 && to > from, 'README.md lacks the serve synopsis');
      writeFileSync(readmePath, readme.slice(0, from) + synopsis + readme.slice(to));
      return;
    }
    assert.ok(
      readme.includes(synopsis),
      `README.md lacks\n${synopsis}: rerun with TESSERA_UPDATE_README=1`,
    );
  });

  it('is what `tessera --help` lists: every flag and variable, each serve flag accepted', async () => {
    for (const row of optionRows) {
      if (row.env) assert.match(usage, new RegExp(`\\b${row.env}\\b`), row.name);
      if (row.flag)
        assert.ok(
          usage.includes(row.switch ? `[${row.flag}]` : `${row.flag} ${row.metavar}`),
          row.name,
        );
      if (row.flag && commandsOf(row).includes('serve'))
        assert.ok(row.flag.slice(2) in flagsFor('serve'), row.flag);
    }
    const help = await runCli(['--help']);
    assert.equal(help.status, 0);
    assert.equal(help.stdout, `${usage}\n`);
  });

  it('has one row per name, flag, variable and file key, each documented', () => {
    const seen = { flag: new Set<string>(), env: new Set<string>(), file: new Set<string>() };
    for (const [key, row] of Object.entries(options)) {
      assert.equal(row.name, key);
      for (const [kind, name] of [
        ['flag', row.flag],
        ['env', row.env],
        ['file', fileKey(row)],
      ] as const) {
        if (name === undefined) continue;
        assert.ok(!seen[kind].has(name), `${name} appears twice`);
        seen[kind].add(name);
      }
      assert.ok(row.doc.length > 0 && !row.doc.includes('|'), row.name);
      assert.ok(commandsOf(row).length > 0, row.name);
      // A flag takes a value (named by its metavar) unless it is a switch (a bare flag).
      if (row.flag)
        assert.ok(row.switch ? !row.metavar : row.metavar, `${row.flag} needs a metavar`);
    }
    assert.equal(fileKey(options.signingAlg), 'signing_alg');
    assert.equal(fileKey(options.authMaxFailuresPerClient), 'auth_max_failures_per_client');
    assert.equal(fileKey(options.kek), undefined);
  });

  it('names the same variables and flag as bin/thread-pool.cjs, which runs before it loads', () => {
    const require = createRequire(import.meta.url);
    const { names } = require('../bin/thread-pool.cjs') as { names: Record<string, string> };
    assert.deepEqual(names, {
      signingAlgFlag: options.signingAlg.flag,
      signingAlgEnv: options.signingAlg.env,
      threadPoolEnv: options.threadPool.env,
    });
  });

  it('is the only module of the server reading process.env', () => {
    const readers = sourceFiles(serverSrc)
      .filter((file) =>
        /process\.env\b/.test(readFileSync(file, 'utf8').replace(/^\s*\*.*$/gm, '')),
      )
      .map((file) => relative(serverSrc, file));
    assert.deepEqual(readers, ['config/options.ts']);
  });
});

describe('loadConfig from the option table', () => {
  it('keeps every default', () => {
    const config = loadConfig({});
    assert.deepEqual(config, {
      tlsCert: undefined,
      tlsKey: undefined,
      tlsClientCa: undefined,
      trustedProxies: [],
      clientCertHeader: 'x-client-cert',
      port: 8080,
      host: '127.0.0.1',
      issuer: 'http://localhost:8080',
      dataDir: resolve('data'),
      database: `sqlite:${resolve('data', 'tessera.db')}`,
      databaseReplicas: [],
      preset: undefined,
      tenantHosts: new Map(),
      signingAlg: 'RS256',
      defaultTokenTtl: 3600,
      defaultAudience: undefined,
      jwksMaxAge: 300,
      keyRotationDays: undefined,
      signingKeys: 'sealed',
      signOn: 'thread-pool',
      pkcs11Module: undefined,
      pkcs11TokenLabel: undefined,
      authFailureLimits: { perClient: 10, perAddress: 50, windowSeconds: 60, lockSeconds: 60 },
      sharedState: undefined,
      tokenQuota: undefined,
      tokenQuotaMode: 'enforce',
      reuseTokens: false,
      bodyLimit: 16 * 1024,
      logLevel: 'info',
      logFormat: 'json',
      eventsWebhook: undefined,
      tracing: undefined,
      scopeClaims: undefined,
      tokenHook: undefined,
      // Issue 16.
      assertionAudience: 'issuer',
      assertionMaxLifetime: 300,
      metricsListen: undefined,
      metricsToken: undefined,
      metricsClientLabels: false,
      // Issue 25.
      profile: undefined,
      fapiMaxTokenLifetime: 600,
      dpopNonce: false,
      consoleOidcIssuer: undefined,
      consoleOidcClientId: undefined,
      consoleOidcClientSecret: undefined,
      consoleOidcRolesClaim: 'groups',
      consoleRoles: [],
      consoleSecretSignIn: true,
      consoleRequireAcr: undefined,
      consoleSessionIdle: 1800,
      consoleSessionMax: 43200,
    });
    const serve = serveSettings({ env: {} });
    assert.equal(serve.shutdownTimeout, 10);
    assert.equal(serve.threadPool, 4);
    assert.ok(serve.workers >= 1);
  });

  it('reads every variable the table names', () => {
    const scopeClaimsFile = join(mkdtempSync(join(tmpdir(), 'tessera-options-')), 'scopes.json');
    writeFileSync(scopeClaimsFile, '{"payments:write": {"limits": {"daily": 10000}}}');
    const config = loadConfig({
      TESSERA_SCOPE_CLAIMS: scopeClaimsFile,
      TESSERA_TOKEN_HOOK: 'http://127.0.0.1:9999/hook',
      TESSERA_TOKEN_HOOK_SECRET: 'hook secret',
      TESSERA_TOKEN_HOOK_TIMEOUT: '250',
      TESSERA_TOKEN_HOOK_FAILURE: 'allow',
      PORT: '9000',
      HOST: '0.0.0.0',
      TESSERA_ISSUER: 'https://auth.example.com//',
      DATABASE_URL: 'sqlite:/tmp/tessera-options/x.db',
      TESSERA_PRESET: 'tesouro',
      TESSERA_TENANT_HOSTS: 'Sandbox.Auth.Example:8443=sandbox, api.example=production',
      TESSERA_SIGNING_ALG: 'ES256',
      TESSERA_TOKEN_TTL: '600',
      TESSERA_DEFAULT_AUDIENCE: 'https://api.example.com',
      TESSERA_JWKS_MAX_AGE: '0',
      TESSERA_KEY_ROTATION_DAYS: '30',
      TESSERA_SIGNING_KEYS: 'pkcs11',
      TESSERA_SIGN_ON: 'event-loop',
      TESSERA_PKCS11_MODULE: '/usr/lib/softhsm/libsofthsm2.so',
      TESSERA_PKCS11_TOKEN_LABEL: 'tessera',
      TESSERA_AUTH_MAX_FAILURES_PER_CLIENT: '3',
      TESSERA_AUTH_MAX_FAILURES_PER_ADDRESS: '4',
      TESSERA_AUTH_FAILURE_WINDOW: '5',
      TESSERA_AUTH_LOCK_SECONDS: '6',
      TESSERA_TLS_CERT: 'c.pem',
      TESSERA_TLS_KEY: 'k.pem',
      TESSERA_TLS_CLIENT_CA: 'ca.pem',
      TESSERA_TRUSTED_PROXIES: ' 10.0.0.0/8 , ::1 ,',
      TESSERA_CLIENT_CERT_HEADER: 'X-SSL-Cert',
      TESSERA_LOG_LEVEL: 'warn',
      TESSERA_LOG_FORMAT: 'pretty',
      TESSERA_OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://ignored:4318',
      OTEL_SERVICE_NAME: 'auth',
      OTEL_SDK_DISABLED: 'false',
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0.5',
      TESSERA_SHARED_STATE_URL: 'redis://127.0.0.1:6379/2',
      TESSERA_EVENTS_WEBHOOK: 'http://127.0.0.1:9000/hooks/tessera',
      TESSERA_TOKEN_QUOTA: '5000/d, 10/s',
      TESSERA_TOKEN_QUOTA_MODE: 'observe',
      TESSERA_REUSE_TOKENS: '1',
      // Issue 16.
      TESSERA_ASSERTION_AUDIENCE: 'any',
      TESSERA_ASSERTION_MAX_LIFETIME: '3600',
      TESSERA_METRICS_LISTEN: '[::1]:9464',
      TESSERA_METRICS_TOKEN: 'metrics-secret',
      TESSERA_METRICS_CLIENT_LABELS: 'true',
      // Issue 25 (ES256 above is one of the algorithms FAPI 2.0 allows).
      TESSERA_PROFILE: 'fapi2',
      TESSERA_FAPI_MAX_TOKEN_LIFETIME: '300',
      TESSERA_DPOP_NONCE: 'true',
      TESSERA_CONSOLE_OIDC_ISSUER: 'https://idp.example.com/realms/corp',
      TESSERA_CONSOLE_OIDC_CLIENT_ID: 'tessera-console',
      TESSERA_CONSOLE_OIDC_CLIENT_SECRET: 'console-secret',
      TESSERA_CONSOLE_OIDC_ROLES_CLAIM: 'roles',
      TESSERA_CONSOLE_ROLES: 'ops=operator,sec=admin',
      TESSERA_CONSOLE_SECRET_SIGN_IN: 'off',
      TESSERA_CONSOLE_REQUIRE_ACR: 'mfa',
      TESSERA_CONSOLE_SESSION_IDLE: '900',
      TESSERA_CONSOLE_SESSION_MAX: '3600',
    });
    assert.deepEqual(config, {
      tlsCert: 'c.pem',
      tlsKey: 'k.pem',
      tlsClientCa: 'ca.pem',
      trustedProxies: ['10.0.0.0/8', '::1'],
      clientCertHeader: 'X-SSL-Cert',
      port: 9000,
      host: '0.0.0.0',
      issuer: 'https://auth.example.com',
      // No TESSERA_DATA_DIR: the SQLite file's directory, so kek.key sits beside the data.
      dataDir: '/tmp/tessera-options',
      database: 'sqlite:/tmp/tessera-options/x.db',
      databaseReplicas: [],
      preset: 'tesouro',
      tenantHosts: new Map([
        ['sandbox.auth.example:8443', 'sandbox'],
        ['api.example', 'production'],
      ]),
      signingAlg: 'ES256',
      defaultTokenTtl: 600,
      defaultAudience: 'https://api.example.com',
      jwksMaxAge: 0,
      keyRotationDays: 30,
      signingKeys: 'pkcs11',
      signOn: 'event-loop',
      pkcs11Module: '/usr/lib/softhsm/libsofthsm2.so',
      pkcs11TokenLabel: 'tessera',
      authFailureLimits: { perClient: 3, perAddress: 4, windowSeconds: 5, lockSeconds: 6 },
      sharedState: 'redis://127.0.0.1:6379/2',
      tokenQuota: '10/s,5000/d',
      tokenQuotaMode: 'observe',
      reuseTokens: true,
      bodyLimit: 16 * 1024,
      logLevel: 'warn',
      logFormat: 'pretty',
      eventsWebhook: 'http://127.0.0.1:9000/hooks/tessera',
      tracing: {
        tracesUrl: 'http://collector:4318/v1/traces',
        serviceName: 'auth',
        sampler: { name: 'parentbased_traceidratio', ratio: 0.5 },
      },
      scopeClaims: { 'payments:write': { limits: { daily: 10000 } } },
      // The secret is not a setting: tokenHookSecret() reads it apart.
      tokenHook: { url: 'http://127.0.0.1:9999/hook', timeoutMs: 250, failure: 'allow' },
      assertionAudience: 'any',
      assertionMaxLifetime: 3600,
      metricsListen: { host: '::1', port: 9464 },
      metricsToken: 'metrics-secret',
      metricsClientLabels: true,
      profile: 'fapi2',
      fapiMaxTokenLifetime: 300,
      dpopNonce: true,
      consoleOidcIssuer: 'https://idp.example.com/realms/corp',
      consoleOidcClientId: 'tessera-console',
      consoleOidcClientSecret: 'console-secret',
      consoleOidcRolesClaim: 'roles',
      consoleRoles: [
        ['ops', 'operator'],
        ['sec', 'admin'],
      ],
      consoleSecretSignIn: false,
      consoleRequireAcr: 'mfa',
      consoleSessionIdle: 900,
      consoleSessionMax: 3600,
    });
    assert.equal(
      loadConfig({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://t:4318/custom' }).tracing?.tracesUrl,
      'http://t:4318/custom',
    );
    assert.deepEqual(
      serveSettings({
        env: { TESSERA_WORKERS: '3', TESSERA_SHUTDOWN_TIMEOUT: '7', UV_THREADPOOL_SIZE: '2' },
      }),
      {
        workers: 3,
        shutdownTimeout: 7,
        threadPool: 2,
      },
    );
  });

  it('makes PS256 the default under --profile fapi2 and refuses RS256, naming the setting', () => {
    assert.equal(configFrom({ flags: { profile: 'fapi2' } }).signingAlg, 'PS256');
    assert.equal(
      configFrom({ env: { TESSERA_PROFILE: 'fapi2', TESSERA_SIGNING_ALG: 'EdDSA' } }).signingAlg,
      'EdDSA',
    );
    assert.throws(() => configFrom({ flags: { profile: 'fapi2', 'signing-alg': 'RS256' } }), {
      name: 'ConfigError',
      message:
        'TESSERA_SIGNING_ALG (--signing-alg) RS256 is not allowed with TESSERA_PROFILE (--profile) fapi2: FAPI 2.0 allows PS256, ES256 or EdDSA',
    });
    assert.throws(() => configFrom({ flags: { profile: 'fapi1' } }), {
      message: '--profile must be one of fapi2, got "fapi1" (--profile or TESSERA_PROFILE)',
    });
  });

  it('ranks flag over environment over file over default, and reads snake_case file keys', () => {
    const file = { port: 7000, signing_alg: 'EdDSA', trusted_proxies: ['10.1.0.0/16'], host: '::' };
    const fromFile = configFrom({ file });
    assert.equal(fromFile.port, 7000);
    assert.equal(fromFile.signingAlg, 'EdDSA');
    assert.deepEqual(fromFile.trustedProxies, ['10.1.0.0/16']);
    const fromEnv = configFrom({ file, env: { PORT: '7001' } });
    assert.equal(fromEnv.port, 7001);
    assert.equal(configFrom({ file, env: { PORT: '7001' }, flags: { port: '7002' } }).port, 7002);
    assert.equal(configFrom({ env: { PORT: '7001' }, overrides: { port: 7003 } }).port, 7003);
  });

  it('accepts what each setting accepted before, and an empty value counts as unset where it did', () => {
    // The variable takes anything Number() reads as an integer; the flag took digits only.
    assert.equal(loadConfig({ PORT: '0x10' }).port, 16);
    assert.throws(() => configFrom({ flags: { port: '0x10' } }), /--port must be a whole number/);
    assert.equal(loadConfig({ PORT: '' }).port, 8080);
    assert.equal(loadConfig({ TESSERA_KEY_ROTATION_DAYS: '' }).keyRotationDays, undefined);
    assert.equal(loadConfig({ TESSERA_PRESET: '' }).preset, undefined);
    assert.equal(loadConfig({ TESSERA_CLIENT_CERT_HEADER: '' }).clientCertHeader, 'x-client-cert');
    assert.equal(loadConfig({ HOST: '' }).host, '');
    assert.throws(
      () => loadConfig({ TESSERA_ISSUER: '' }),
      /TESSERA_ISSUER must be an http\(s\) URL/,
    );
    assert.throws(
      () => loadConfig({ TESSERA_SIGNING_ALG: '' }),
      /TESSERA_SIGNING_ALG must be one of/,
    );
    // Repeated flags are taken as given; the variable is split on commas and trimmed.
    assert.throws(
      () => configFrom({ flags: { 'trusted-proxy': [' 10.0.0.1'] } }),
      /--trusted-proxy entries must be IP addresses or CIDR subnets, got " 10.0.0.1"/,
    );
    assert.deepEqual(serveSettings({ env: { TESSERA_WORKERS: '' } }).shutdownTimeout, 10);
  });

  it('names the option, the source used and every way to set it in each refusal', () => {
    const refusal = (run: () => unknown): ConfigError => {
      try {
        run();
      } catch (error) {
        assert.ok(error instanceof ConfigError);
        return error;
      }
      assert.fail('expected a ConfigError');
    };
    const env = refusal(() => loadConfig({ TESSERA_JWKS_MAX_AGE: '-1' }));
    assert.equal(env.message, 'TESSERA_JWKS_MAX_AGE must be an integer from 0 to 86400, got "-1"');
    assert.equal(env.option, 'jwksMaxAge');
    assert.equal(env.source, 'env');
    const flag = refusal(() => configFrom({ flags: { 'key-rotation-days': '0' } }));
    assert.equal(
      flag.message,
      '--key-rotation-days must be an integer from 1 to 3650, got "0" (--key-rotation-days or TESSERA_KEY_ROTATION_DAYS)',
    );
    assert.equal(flag.source, 'flag');
    const file = refusal(() => configFrom({ file: { signing_alg: 'HS256' } }));
    assert.equal(
      file.message,
      'signing_alg must be one of RS256, PS256, ES256, EdDSA, got "HS256" (--signing-alg or TESSERA_SIGNING_ALG)',
    );
    assert.deepEqual(
      configProblems({
        env: { PORT: 'x', TESSERA_WORKERS: '0' },
        file: { default_token_ttl: 0 },
      }).map((problem) => problem.option),
      ['port', 'defaultTokenTtl', 'workers'],
    );
    assert.deepEqual(configProblems({ env: {} }), []);
    assert.match(
      refusal(() => loadConfig({ TESSERA_TLS_CERT: 'c.pem' })).message,
      /TESSERA_TLS_CERT \(--tls-cert\) and TESSERA_TLS_KEY \(--tls-key\) go together/,
    );
  });

  it('makes a bad flag a usage error (exit 2) and a bad variable a configuration error (exit 1)', async () => {
    const flag = await runCli(['serve', '--workers', '0']);
    assert.equal(flag.status, 2);
    assert.match(
      flag.stderr,
      /^tessera: --workers must be a whole number from 1 to 256, got "0" \(--workers or TESSERA_WORKERS\)\n\nUsage:/,
    );
    const env = await runCli(['serve'], { TESSERA_SHUTDOWN_TIMEOUT: 'soon' });
    assert.equal(env.status, 1);
    assert.equal(
      env.stderr,
      'tessera: TESSERA_SHUTDOWN_TIMEOUT must be a whole number from 1 to 3600, got "soon" (--shutdown-timeout or TESSERA_SHUTDOWN_TIMEOUT)\n',
    );
  });
});

/**
 * Issue 21: a tenant's own lockout limits and token hook. Over SQLite: the admin API suite
 * (support/tenant-settings.ts, also run over PostgreSQL), the CLI flags and `tenants
 * hook-secret`, an own hook without TESSERA_TOKEN_HOOK_SECRET, and a tenant's limit held
 * across the workers of `serve --workers 2`.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { workersListening } from './support/deployment.js';
import { newKek, startTesseraProcess, type TesseraProcess } from './support/instances.js';
import { tokenFrom } from './support/source-address.js';
import {
  derivedHookKey,
  hookReceiver,
  serverHookSecret,
  tenantSettingsSuite,
} from './support/tenant-settings.js';
import { startTessera, type TestTessera } from './support/tessera.js';
import { cli, send } from './support/tenants.js';
import { getToken } from './support/tokens.js';

tenantSettingsSuite('SQLite', async () => ({ url: undefined, dispose: async () => {} }));

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('tenants create|update lockout and hook flags, tenants hook-secret', () => {
  let dir: string;
  let database: string;
  const env = { TESSERA_KEK: newKek() };
  const withSecret = { ...env, TESSERA_TOKEN_HOOK_SECRET: serverHookSecret };
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tessera-tenant-flags-'));
    database = `sqlite:${join(dir, 'tessera.db')}`;
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const run = async (args: string[], environment: NodeJS.ProcessEnv = withSecret) => {
    const result = await cli([...args, '--database', database], environment);
    assert.equal(result.status, 0, result.stderr);
    return result.stdout;
  };
  /** Exit 1 for a refused value, 2 for a usage error (a flag that is not a number). */
  const refused = async (
    args: string[],
    message: RegExp,
    environment: NodeJS.ProcessEnv = withSecret,
  ) => {
    const result = await cli([...args, '--database', database], environment);
    assert.ok(result.status === 1 || result.status === 2, `${args.join(' ')}: ${result.stdout}`);
    assert.match(result.stderr, message);
  };

  it('round-trips the settings through create, show, update and list', async () => {
    const created = JSON.parse(
      await run([
        'tenants',
        'create',
        'acme',
        '--auth-max-failures-per-client',
        '3',
        '--auth-max-failures-per-address',
        '20',
        '--auth-failure-window',
        '30',
        '--auth-lock-seconds',
        '90',
        '--token-hook',
        'https://hooks.acme.test/token',
        '--token-hook-timeout',
        '800',
        '--token-hook-failure',
        'allow',
        '--json',
      ]),
    ) as Record<string, unknown>;
    const limits = { per_client: 3, per_address: 20, window_seconds: 30, lock_seconds: 90 };
    const ownHook = { url: 'https://hooks.acme.test/token', timeout_ms: 800, failure: 'allow' };
    assert.deepEqual(created.auth_failure_limits, limits);
    assert.deepEqual(created.token_hook, ownHook);
    const shown = JSON.parse(await run(['tenants', 'show', 'acme', '--json'])) as typeof created;
    assert.deepEqual(shown.auth_failure_limits, limits);
    assert.deepEqual(shown.token_hook, ownHook);

    const updated = JSON.parse(
      await run([
        'tenants',
        'update',
        'acme',
        '--auth-lock-seconds',
        'inherit',
        '--token-hook-failure',
        'deny',
        '--json',
      ]),
    ) as typeof created;
    assert.deepEqual(updated.auth_failure_limits, { ...limits, lock_seconds: null });
    assert.deepEqual(updated.token_hook, { ...ownHook, failure: 'deny' });
    const none = JSON.parse(
      await run(['tenants', 'update', 'acme', '--token-hook', 'none', '--json']),
    ) as typeof created;
    assert.equal(none.token_hook, 'none');
    const inherit = JSON.parse(
      await run(['tenants', 'update', 'acme', '--token-hook', 'inherit', '--json'], env),
    ) as typeof created;
    assert.equal(inherit.token_hook, null);
    const listed = JSON.parse(await run(['tenants', 'list', '--json'])) as Array<typeof created>;
    assert.deepEqual(listed[0]!.auth_failure_limits, { ...limits, lock_seconds: null });

    // Without the server's secret, `none` and `inherit` need none; the tenant's own hook does.
    await run(['tenants', 'create', 'plain', '--token-hook', 'none'], env);
  });

  it('refuses bad values, clearly', async () => {
    await refused(['tenants', 'create', 'bad', '--auth-lock-seconds', '0'], /from 1 to 86400/);
    await refused(
      ['tenants', 'create', 'bad', '--auth-max-failures-per-client', 'many'],
      /--auth-max-failures-per-client must be a whole number/,
    );
    await refused(['tenants', 'create', 'bad', '--token-hook', 'ftp://x.test/'], /http\(s\) URL/);
    await refused(
      ['tenants', 'create', 'bad', '--token-hook', 'https://x.test/', '--token-hook-failure', 'no'],
      /deny|allow/,
    );
    await refused(
      ['tenants', 'update', 'acme', '--token-hook-timeout', '500'],
      /own token hook URL/,
    );
    await refused(
      ['tenants', 'update', 'acme', '--token-hook', 'none', '--token-hook-timeout', '500'],
      /takes no --token-hook-timeout/,
    );
    await refused(
      ['tenants', 'create', 'bad', '--token-hook', 'https://x.test/'],
      /needs TESSERA_TOKEN_HOOK_SECRET/,
      env,
    );
    const missing = await cli(['tenants', 'show', 'bad', '--database', database], env);
    assert.equal(missing.status, 1, 'nothing was created');
  });

  it('prints the derived hook key of a tenant, and only with the secret', async () => {
    const printed = await run(['tenants', 'hook-secret', 'acme']);
    assert.equal(printed, `${derivedHookKey('acme')}\n`);
    assert.notEqual(derivedHookKey('acme'), derivedHookKey('plain'));
    assert.deepEqual(JSON.parse(await run(['tenants', 'hook-secret', 'acme', '--json'])), {
      tenant: 'acme',
      hook_secret: derivedHookKey('acme'),
    });
    await refused(['tenants', 'hook-secret', 'acme'], /TESSERA_TOKEN_HOOK_SECRET/, env);
    await refused(['tenants', 'hook-secret', 'ghost'], /no tenant named ghost/);
  });
});

describe('a tenant’s own hook without TESSERA_TOKEN_HOOK_SECRET', () => {
  let tessera: TestTessera;
  let hook: Awaited<ReturnType<typeof hookReceiver>>;
  const lines: string[] = [];
  before(async () => {
    hook = await hookReceiver((_call, response) => response.end('{}'));
    tessera = await startTessera({
      logLevel: 'info',
      logStream: { write: (line) => lines.push(line) },
    });
  });
  after(async () => {
    await tessera?.close();
    await hook?.close();
  });

  it('is refused by the admin API, and a stored one refuses tokens with 503, never a crash', async () => {
    const root = await getToken(
      tessera.url,
      await tessera.createClient({ scope: 'tessera:admin' }),
    );
    const refused = await send(`${tessera.url}/admin/v1/tenants`, {
      method: 'POST',
      headers: { authorization: `Bearer ${root}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'hooked', token_hook: { url: `${hook.url}/t` } }),
    });
    assert.equal(refused.status, 400, refused.text);
    assert.match(refused.json.error_description as string, /TESSERA_TOKEN_HOOK_SECRET/);

    // Written by a process that had the secret (another instance, or the CLI).
    const { store } = tessera.server.context;
    await store.createTenant({
      name: 'hooked',
      issuer: null,
      preset: null,
      tokenTtl: null,
      signingAlg: null,
      defaultAudience: null,
      settings: { tokenHook: { url: `${hook.url}/t` } },
    });
    await tessera.server.context.syncChanges();
    const created = await send(`${tessera.url}/admin/v1/tenants/hooked/clients`, {
      method: 'POST',
      headers: { authorization: `Bearer ${root}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'hooked app' }),
    });
    assert.equal(created.status, 201, created.text);
    const client = created.json as { client_id: string; client_secret: string };
    for (let i = 0; i < 2; i += 1) {
      const answer = await tokenFrom(
        '127.0.0.1',
        `${tessera.url}/t/hooked`,
        client.client_id,
        client.client_secret,
      );
      assert.equal(answer.status, 503);
      assert.equal(answer.headers['cache-control'], 'no-store');
      assert.deepEqual(answer.body, {
        error: 'temporarily_unavailable',
        error_description: 'The token hook is unavailable; try again',
      });
    }
    assert.equal(hook.calls.length, 0, 'an unsigned call is never made');
    const logged = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.ok(
      logged.some(
        (line) =>
          line.level === 50 &&
          line.tenant === 'hooked' &&
          /tenant token hook without TESSERA_TOKEN_HOOK_SECRET/.test(String(line.msg)),
      ),
    );
    // The server goes on: the default tenant still issues tokens.
    assert.equal((await send(`${tessera.url}/healthz`)).status, 200);
  });
});

describe('a tenant’s lockout limit under serve --workers 2', () => {
  let dir: string;
  let server: TesseraProcess;
  let tenantClient: { client_id: string; client_secret: string };
  let homeClient: { client_id: string; client_secret: string };
  let database: string;
  const env = { TESSERA_KEK: newKek() };
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tessera-tenant-workers-'));
    database = `sqlite:${join(dir, 'tessera.db')}`;
    const run = async (...args: string[]) => {
      const result = await cli([...args, '--database', database], env);
      assert.equal(result.status, 0, result.stderr);
      return result.stdout;
    };
    await run('tenants', 'create', 'w', '--auth-max-failures-per-client', '3');
    tenantClient = JSON.parse(
      await run('clients', 'create', '--name', 'w app', '--tenant', 'w', '--json'),
    ) as typeof tenantClient;
    homeClient = JSON.parse(
      await run('clients', 'create', '--name', 'home app', '--json'),
    ) as typeof homeClient;
    server = await startTesseraProcess(database, { ...env, TESSERA_WORKERS: '2' });
    await workersListening(server, 2);
  });
  after(async () => {
    await server?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('locks after the tenant’s 3 failures spread over the workers; the default tenant is not locked', async () => {
    const tenantBase = `${server.url}/t/w`;
    const statuses: number[] = [];
    for (let attempt = 0; attempt < 10 && !statuses.includes(429); attempt += 1) {
      statuses.push(
        (await tokenFrom('127.0.0.2', tenantBase, tenantClient.client_id, 'guess')).status,
      );
      // Time for a lock decided by the primary to reach every worker.
      await pause(30);
    }
    assert.deepEqual(statuses, [401, 401, 401, 429], statuses.join(' '));
    const logged = server
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const refusing = new Set(
      logged
        .filter((line) => JSON.stringify(line).includes('secret mismatch'))
        .map((line) => line.pid),
    );
    assert.equal(refusing.size, 2, 'the failures were spread over both workers');
    assert.ok(
      logged.some(
        (line) =>
          line.msg === 'client authentication locked out after repeated failures across workers' &&
          line.tenant === 'w',
      ),
    );
    for (let i = 0; i < 4; i += 1) {
      assert.equal(
        (
          await tokenFrom(
            '127.0.0.2',
            tenantBase,
            tenantClient.client_id,
            tenantClient.client_secret,
          )
        ).status,
        429,
        'locked at every worker',
      );
      assert.equal(
        (await tokenFrom('127.0.0.2', server.url, homeClient.client_id, homeClient.client_secret))
          .status,
        200,
        'the same address at the default tenant',
      );
    }
  });

  it('follows a limit changed through the CLI while it serves', async () => {
    const result = await cli(
      ['tenants', 'update', 'w', '--auth-max-failures-per-client', '1', '--database', database],
      env,
    );
    assert.equal(result.status, 0, result.stderr);
    // Changes are seen within a second (the change follower of each worker).
    await pause(1_500);
    const tenantBase = `${server.url}/t/w`;
    const statuses: number[] = [];
    for (let i = 0; i < 3; i += 1) {
      statuses.push(
        (await tokenFrom('127.0.0.5', tenantBase, tenantClient.client_id, 'guess')).status,
      );
      await pause(30);
    }
    assert.deepEqual(statuses, [401, 429, 429]);
  });
});

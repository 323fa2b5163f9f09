/**
 * Issue 21: a tenant's own lockout limits and token hook over real HTTP, one suite run over
 * SQLite (tenant-settings.test.ts) and PostgreSQL (postgres-tenant-settings.test.ts): set
 * and changed through the admin API, each tenant counting failures apart, its hook called on
 * a real node:http receiver that checks the derived HMAC key.
 */
import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { tokenFrom } from './source-address.js';
import { startTessera, type TestTessera } from './tessera.js';
import { claimsOf, send, type Reply } from './tenants.js';
import { getToken } from './tokens.js';

type Credentials = { clientId: string; clientSecret: string };

export const serverHookSecret = 'server-hook-secret-0123456789abcdef';

/** The key a tenant's own hook is signed with, computed here as the README says. */
export const derivedHookKey = (tenant: string) =>
  createHmac('sha256', serverHookSecret)
    .update(`tessera tenant token hook\u0000${tenant}`)
    .digest('hex');

/** Whether `Tessera-Signature` is the HMAC of "<t>.<raw>" under `key`. */
export function signedWith(key: string, header: unknown, raw: string): boolean {
  const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(typeof header === 'string' ? header : '');
  if (!match) return false;
  const expected = createHmac('sha256', key).update(`${match[1]}.${raw}`).digest();
  return timingSafeEqual(expected, Buffer.from(match[2]!, 'hex'));
}

export interface HookCall {
  path: string;
  headers: IncomingMessage['headers'];
  raw: string;
  body: Record<string, unknown>;
}

/** A token hook receiver: records each call; `/tenant` checks the hooked tenant's key. */
export async function hookReceiver(answer: (call: HookCall, response: ServerResponse) => void) {
  const calls: HookCall[] = [];
  const server = createServer((request, response) => {
    let raw = '';
    request.on('data', (chunk: Buffer) => (raw += chunk));
    request.on('end', () => {
      const call = {
        path: request.url ?? '',
        headers: request.headers,
        raw,
        body: JSON.parse(raw) as Record<string, unknown>,
      };
      calls.push(call);
      answer(call, response);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    calls,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export function tenantSettingsSuite(
  label: string,
  database: () => Promise<{ url: string | undefined; dispose: () => Promise<void> }>,
  skip?: string,
): void {
  describe(`tenant lockout limits and token hook (${label})`, { skip }, () => {
    let tessera: TestTessera;
    let dispose: () => Promise<void>;
    let hook: Awaited<ReturnType<typeof hookReceiver>>;
    let root: string;
    const lines: string[] = [];

    const call = (method: string, path: string, body?: unknown): Promise<Reply> =>
      send(`${tessera.url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${root}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    const createTenant = async (body: Record<string, unknown>) => {
      const created = await call('POST', '/admin/v1/tenants', body);
      assert.equal(created.status, 201, created.text);
      return created.json;
    };
    const clientOf = async (tenant: string): Promise<Credentials> => {
      const created = await call('POST', `/admin/v1/tenants/${tenant}/clients`, {
        name: `${tenant} app`,
      });
      assert.equal(created.status, 201, created.text);
      return {
        clientId: created.json.client_id as string,
        clientSecret: created.json.client_secret as string,
      };
    };
    const base = (tenant: string) => `${tessera.url}/t/${tenant}`;
    const statuses = async (
      from: string,
      url: string,
      clientId: string,
      secret: string,
      times: number,
    ) => {
      const seen: number[] = [];
      for (let i = 0; i < times; i += 1)
        seen.push((await tokenFrom(from, url, clientId, secret)).status);
      return seen;
    };
    const metric = async (series: string) => {
      const text = await (await fetch(`${tessera.url}/metrics`)).text();
      const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
      return line === undefined ? 0 : Number(line.slice(series.length + 1));
    };

    before(async () => {
      const db = await database();
      dispose = db.dispose;
      hook = await hookReceiver((received, response) => {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(
          JSON.stringify({ claims: { hook_path: received.path, tier: `${received.body.tenant}` } }),
        );
      });
      tessera = await startTessera({
        ...(db.url ? { database: db.url } : {}),
        env: { TESSERA_TOKEN_HOOK_SECRET: serverHookSecret },
        tokenHook: { url: `${hook.url}/server`, timeoutMs: 2000, failure: 'deny' },
        logLevel: 'info',
        logStream: { write: (line) => lines.push(line) },
      });
      root = await getToken(tessera.url, await tessera.createClient({ scope: 'tessera:admin' }));
    });
    after(async () => {
      await tessera?.close();
      await hook?.close();
      await dispose?.();
    });

    it('sets, shows, merges and refuses lockout limits and hooks through the admin API', async () => {
      const strict = await createTenant({ name: 'strict', auth_failure_limits: { per_client: 3 } });
      assert.deepEqual(strict.auth_failure_limits, {
        per_client: 3,
        per_address: null,
        window_seconds: null,
        lock_seconds: null,
      });
      assert.equal(strict.token_hook, null);
      // A change merges with what the tenant has.
      const merged = await call('PATCH', '/admin/v1/tenants/strict', {
        auth_failure_limits: { per_address: 40, lock_seconds: 120 },
      });
      assert.equal(merged.status, 200, merged.text);
      assert.deepEqual(merged.json.auth_failure_limits, {
        per_client: 3,
        per_address: 40,
        window_seconds: null,
        lock_seconds: 120,
      });
      const cleared = await call('PATCH', '/admin/v1/tenants/strict', {
        auth_failure_limits: { lock_seconds: null },
      });
      assert.equal(
        (cleared.json.auth_failure_limits as { lock_seconds: unknown }).lock_seconds,
        null,
      );

      for (const [body, message] of [
        [{ auth_failure_limits: { per_client: 0 } }, /from 1 to 1000000/],
        [{ auth_failure_limits: { lock_seconds: 86401 } }, /from 1 to 86400/],
        [{ auth_failure_limits: { per_client: '3' } }, /integer or null/],
        [{ auth_failure_limits: { bogus: 1 } }, /per_client/],
        [{ token_hook: { timeout_ms: 500 } }, /own token hook URL/],
        [{ token_hook: { url: 'ftp://hook.test/x' } }, /http\(s\) URL/],
        [{ token_hook: { url: `${hook.url}/x`, failure: 'maybe' } }, /deny|allow/],
        [{ token_hook: { url: `${hook.url}/x`, timeout_ms: 60001 } }, /from 1 to 60000/],
        [{ token_hook: 'off' }, /object, the string none, or null/],
      ] as const) {
        const refused = await call('PATCH', '/admin/v1/tenants/strict', body);
        assert.equal(refused.status, 400, JSON.stringify(body));
        assert.equal(refused.json.error, 'invalid_request');
        assert.match(refused.json.error_description as string, message);
      }

      const hooked = await createTenant({
        name: 'hooked',
        token_hook: { url: `${hook.url}/tenant`, timeout_ms: 2000 },
      });
      assert.deepEqual(hooked.token_hook, {
        url: `${hook.url}/tenant`,
        timeout_ms: 2000,
        failure: null,
      });
      const tuned = await call('PATCH', '/admin/v1/tenants/hooked', {
        token_hook: { failure: 'deny' },
      });
      assert.deepEqual(tuned.json.token_hook, {
        url: `${hook.url}/tenant`,
        timeout_ms: 2000,
        failure: 'deny',
      });
      assert.equal((await createTenant({ name: 'quiet', token_hook: 'none' })).token_hook, 'none');
      await createTenant({ name: 'inherits' });
      const shown = await call('GET', '/admin/v1/tenants/hooked');
      assert.deepEqual(shown.json.token_hook, tuned.json.token_hook);
      const audit = await call('GET', '/admin/v1/tenants/strict/audit');
      assert.equal(audit.status, 200, audit.text);
    });

    it('locks a tenant client after the tenant’s own limit, a default one after the server’s', async () => {
      const strictClient = await clientOf('strict');
      const homeClient = await tessera.createClient();
      assert.deepEqual(
        await statuses('127.0.0.2', base('strict'), strictClient.clientId, 'guess', 5),
        [401, 401, 401, 429, 429],
      );
      // The same address, another tenant (the default): the server's 10.
      assert.deepEqual(await statuses('127.0.0.2', tessera.url, homeClient.clientId, 'guess', 11), [
        ...Array(10).fill(401),
        429,
      ]);
      // Never the owner from elsewhere.
      const owner = await tokenFrom(
        '127.0.0.1',
        base('strict'),
        strictClient.clientId,
        strictClient.clientSecret,
      );
      assert.equal(owner.status, 200);

      assert.equal(await metric('tessera_auth_lockouts_total{key="client_id",tenant="strict"}'), 1);
      assert.equal(
        await metric('tessera_auth_lockouts_total{key="client_id",tenant="default"}'),
        1,
      );
      const logged = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
      assert.ok(
        logged.some(
          (line) =>
            line.msg === 'client authentication locked out after repeated failures' &&
            line.tenant === 'strict' &&
            line.client_id === strictClient.clientId,
        ),
      );
      // The lockout.started rows are each its tenant's.
      const events = await tessera.server.context.store.listEvents(0, 10_000);
      const started = events
        .filter((event) => event.type === 'lockout.started')
        .map((event) => [event.tenant, event.data.client_id]);
      assert.deepEqual(started, [
        ['strict', strictClient.clientId],
        ['default', homeClient.clientId],
      ]);
    });

    it('keeps an address locked at one tenant free at another and at the default', async () => {
      await createTenant({ name: 'a', auth_failure_limits: { per_address: 2 } });
      await createTenant({ name: 'b', auth_failure_limits: { per_address: 2 } });
      const [atA, atB] = [await clientOf('a'), await clientOf('b')];
      const home = await tessera.createClient();
      for (const unknown of ['nobody-1', 'nobody-2'])
        assert.equal((await tokenFrom('127.0.0.3', base('a'), unknown, 'guess')).status, 401);
      const locked = await tokenFrom('127.0.0.3', base('a'), atA.clientId, atA.clientSecret);
      assert.equal(locked.status, 429, 'the address waits at tenant a');
      assert.equal(
        (await tokenFrom('127.0.0.3', base('b'), atB.clientId, atB.clientSecret)).status,
        200,
      );
      assert.equal(
        (await tokenFrom('127.0.0.3', tessera.url, home.clientId, home.clientSecret)).status,
        200,
      );
      assert.equal(await metric('tessera_auth_lockouts_total{key="address",tenant="a"}'), 1);
    });

    it('applies a changed limit from the next request', async () => {
      const changed = await call('PATCH', '/admin/v1/tenants/strict', {
        auth_failure_limits: { per_client: 1 },
      });
      assert.equal(changed.status, 200, changed.text);
      const client = await clientOf('strict');
      assert.deepEqual(
        await statuses('127.0.0.4', base('strict'), client.clientId, 'guess', 2),
        [401, 429],
      );
    });

    it('calls a tenant’s own hook signed with its derived key, and no hook at a `none` tenant', async () => {
      hook.calls.length = 0;
      const hooked = await clientOf('hooked');
      const answer = await tokenFrom(
        '127.0.0.1',
        base('hooked'),
        hooked.clientId,
        hooked.clientSecret,
      );
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      const claims = claimsOf((answer.body as { access_token: string }).access_token);
      assert.equal(claims.hook_path, '/tenant');
      assert.equal(claims.tier, 'hooked');
      assert.equal(hook.calls.length, 1);
      const [received] = hook.calls;
      assert.equal(received!.body.tenant, 'hooked');
      assert.equal((received!.body.client as { client_id: string }).client_id, hooked.clientId);
      const signature = received!.headers['tessera-signature'];
      assert.ok(signedWith(derivedHookKey('hooked'), signature, received!.raw));
      // Neither the server's key nor another tenant's verifies it.
      assert.ok(!signedWith(serverHookSecret, signature, received!.raw));
      assert.ok(!signedWith(derivedHookKey('strict'), signature, received!.raw));

      hook.calls.length = 0;
      const quiet = await clientOf('quiet');
      const plain = await tokenFrom('127.0.0.1', base('quiet'), quiet.clientId, quiet.clientSecret);
      assert.equal(plain.status, 200);
      assert.equal(claimsOf((plain.body as { access_token: string }).access_token).tier, undefined);
      assert.equal(hook.calls.length, 0, 'the server’s hook is not called at a none tenant');

      // A tenant that sets nothing uses the server's hook with the server's key, told its name.
      const inherits = await clientOf('inherits');
      const inherited = await tokenFrom(
        '127.0.0.1',
        base('inherits'),
        inherits.clientId,
        inherits.clientSecret,
      );
      assert.equal(inherited.status, 200);
      assert.equal(hook.calls.length, 1);
      assert.equal(hook.calls[0]!.path, '/server');
      assert.equal(hook.calls[0]!.body.tenant, 'inherits');
      assert.ok(
        signedWith(
          serverHookSecret,
          hook.calls[0]!.headers['tessera-signature'],
          hook.calls[0]!.raw,
        ),
      );
    });

    it('follows a changed hook: none, then the server’s again', async () => {
      const hooked = await clientOf('hooked');
      const issue = async () => {
        hook.calls.length = 0;
        const answer = await tokenFrom(
          '127.0.0.1',
          base('hooked'),
          hooked.clientId,
          hooked.clientSecret,
        );
        assert.equal(answer.status, 200);
        return hook.calls.map((received) => received.path);
      };
      assert.deepEqual(await issue(), ['/tenant']);
      assert.equal(
        (await call('PATCH', '/admin/v1/tenants/hooked', { token_hook: 'none' })).status,
        200,
      );
      assert.deepEqual(await issue(), []);
      const inherit = await call('PATCH', '/admin/v1/tenants/hooked', { token_hook: null });
      assert.equal(inherit.json.token_hook, null);
      assert.deepEqual(await issue(), ['/server']);
    });
  });
}

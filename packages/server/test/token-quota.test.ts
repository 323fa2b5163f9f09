/**
 * Per-client token quotas (issue 22) over real HTTP with an injected clock: refused at exactly
 * N + 1 with Retry-After and the RateLimit fields, recovered in the next window, failures and
 * refusals not counted, observe mode, the server default, the usage report and the admin API.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { basicAuthorization, postForm, startTessera } from './support/tessera.js';
import { getToken } from './support/tokens.js';
import { runCli } from './support/cli.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A clock standing at the start of the current minute (so windows are predictable). */
function minuteClock() {
  const clock = { now: Math.floor(Date.now() / 60_000) * 60 };
  return { clock, nowSeconds: () => clock.now };
}

const token = (url: string, clientId: string, secret: string, extra: Record<string, string> = {}) =>
  postForm(
    `${url}/oauth/token`,
    { grant_type: 'client_credentials', ...extra },
    { authorization: basicAuthorization(clientId, secret) },
  );

async function metric(url: string, series: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

describe('token quotas', () => {
  it('refuses exactly the N+1th token with 429, Retry-After and RateLimit fields, and recovers in the next window', async () => {
    const { clock, nowSeconds } = minuteClock();
    const tessera = await startTessera({ nowSeconds });
    try {
      const client = await tessera.createClient({ scope: 'read' });
      await tessera.registry.update(client.clientId, { tokenQuota: '3/min' });
      tessera.server.context.clients.invalidate(client.clientId);

      // Failed authentications and refused requests never count.
      for (let i = 0; i < 4; i++)
        assert.equal((await token(tessera.url, client.clientId, 'wrong')).status, 401);
      const badScope = await token(tessera.url, client.clientId, client.clientSecret, {
        scope: 'write',
      });
      assert.equal(badScope.status, 400);

      clock.now += 10;
      for (let i = 0; i < 3; i++) {
        const answer = await token(tessera.url, client.clientId, client.clientSecret);
        assert.equal(answer.status, 200, `token ${i + 1}`);
      }
      const refused = await token(tessera.url, client.clientId, client.clientSecret);
      assert.equal(refused.status, 429);
      assert.equal(refused.headers.get('retry-after'), '50');
      assert.equal(refused.headers.get('ratelimit-policy'), '"tokens-per-min";q=3;w=60');
      assert.equal(refused.headers.get('ratelimit'), '"tokens-per-min";r=0;t=50');
      assert.equal(refused.headers.get('cache-control'), 'no-store');
      assert.deepEqual(refused.body, {
        error: 'temporarily_unavailable',
        error_description: "The client's token quota (3 per min) is used up; retry after 50 s",
      });
      assert.equal(
        await metric(
          tessera.url,
          'tessera_token_quota_refusals_total{mode="enforce",tenant="default"}',
        ),
        1,
      );

      // The usage report, through the admin API.
      const admin = await tessera.createClient({ scope: 'tessera:admin' });
      const adminToken = await getToken(tessera.url, admin);
      const usage = await fetch(`${tessera.url}/admin/v1/clients/${client.clientId}/usage`, {
        headers: { authorization: `Bearer ${adminToken}` },
      });
      assert.equal(usage.status, 200);
      assert.deepEqual(await usage.json(), {
        client_id: client.clientId,
        token_quota: '3/min',
        windows: [
          {
            period: 'min',
            limit: 3,
            used: 3,
            resets_at: new Date((clock.now + 50) * 1000).toISOString(),
          },
        ],
      });

      clock.now += 50;
      const next = await token(tessera.url, client.clientId, client.clientSecret);
      assert.equal(next.status, 200, 'the next window has tokens again');
    } finally {
      await tessera.close();
    }
  });

  it('holds every window of 2/s,3/min', async () => {
    const { clock, nowSeconds } = minuteClock();
    const tessera = await startTessera({ nowSeconds });
    try {
      const client = await tessera.createClient();
      await tessera.registry.update(client.clientId, { tokenQuota: '3/min, 2/s' });
      tessera.server.context.clients.invalidate(client.clientId);
      const statuses = async (n: number) => {
        const out: number[] = [];
        for (let i = 0; i < n; i++)
          out.push((await token(tessera.url, client.clientId, client.clientSecret)).status);
        return out;
      };
      assert.deepEqual(await statuses(3), [200, 200, 429]);
      clock.now += 1;
      const refusedByMinute = await statuses(2);
      assert.deepEqual(refusedByMinute, [200, 429]);
      const last = await token(tessera.url, client.clientId, client.clientSecret);
      assert.equal(
        last.headers.get('ratelimit-policy'),
        '"tokens-per-s";q=2;w=1, "tokens-per-min";q=3;w=60',
      );
      assert.equal(last.headers.get('ratelimit'), '"tokens-per-min";r=0;t=59');
    } finally {
      await tessera.close();
    }
  });

  it('observe mode counts and logs once per window without refusing', async () => {
    const { nowSeconds } = minuteClock();
    const lines: string[] = [];
    const tessera = await startTessera({
      nowSeconds,
      tokenQuotaMode: 'observe',
      logLevel: 'info',
      logStream: { write: (line) => lines.push(line) },
    });
    try {
      const client = await tessera.createClient();
      await tessera.registry.update(client.clientId, { tokenQuota: '2/min' });
      tessera.server.context.clients.invalidate(client.clientId);
      for (let i = 0; i < 5; i++)
        assert.equal((await token(tessera.url, client.clientId, client.clientSecret)).status, 200);
      const observed = lines
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .filter((line) => line.msg === 'token quota exceeded; not refused (observe mode)');
      assert.equal(observed.length, 1);
      assert.equal(observed[0]!.client_id, client.clientId);
      assert.equal(observed[0]!.token_quota, '2/min');
      assert.equal(
        await metric(
          tessera.url,
          'tessera_token_quota_refusals_total{mode="observe",tenant="default"}',
        ),
        3,
      );
    } finally {
      await tessera.close();
    }
  });

  it('applies TESSERA_TOKEN_QUOTA to clients without one; a client’s own wins', async () => {
    const { nowSeconds } = minuteClock();
    const tessera = await startTessera({ nowSeconds, env: { TESSERA_TOKEN_QUOTA: '1/min' } });
    try {
      const plain = await tessera.createClient();
      const own = await tessera.createClient();
      await tessera.registry.update(own.clientId, { tokenQuota: '2/min' });
      tessera.server.context.clients.invalidate(own.clientId);
      const run = async (c: { clientId: string; clientSecret: string }) => {
        const out: number[] = [];
        for (let i = 0; i < 3; i++)
          out.push((await token(tessera.url, c.clientId, c.clientSecret)).status);
        return out;
      };
      assert.deepEqual(await run(plain), [200, 429, 429]);
      assert.deepEqual(await run(own), [200, 200, 429]);
    } finally {
      await tessera.close();
    }
  });

  it('a preset with an error shape reshapes the 429 body; status and headers stay', async () => {
    const { nowSeconds } = minuteClock();
    const tessera = await startTessera({ nowSeconds, preset: 'conta-simples' });
    try {
      const client = await tessera.createClient({ authMethod: 'client_secret_basic' });
      await tessera.registry.update(client.clientId, { tokenQuota: '1/min' });
      tessera.server.context.clients.invalidate(client.clientId);
      const path = `${tessera.url}/oauth/v1/access-token`;
      const ask = () =>
        postForm(
          path,
          { grant_type: 'client_credentials' },
          { authorization: basicAuthorization(client.clientId, client.clientSecret) },
        );
      assert.equal((await ask()).status, 200);
      const refused = await ask();
      assert.equal(refused.status, 429);
      assert.ok(refused.headers.get('retry-after'));
      assert.equal(refused.headers.get('ratelimit-policy'), '"tokens-per-min";q=1;w=60');
      const body = refused.body as Record<string, unknown>;
      assert.equal(body.code, 429);
      assert.equal(body.error, 'Too Many Requests');
    } finally {
      await tessera.close();
    }
  });

  it('refuses a malformed quota: admin API 400 invalid_client_metadata, CLI exit 1 naming it', async () => {
    const tessera = await startTessera();
    try {
      const admin = await tessera.createClient({ scope: 'tessera:admin' });
      const adminToken = await getToken(tessera.url, admin);
      const created = await fetch(`${tessera.url}/admin/v1/clients`, {
        method: 'POST',
        headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'q', token_quota: '10/week' }),
      });
      assert.equal(created.status, 400);
      assert.deepEqual(await created.json(), {
        error: 'invalid_client_metadata',
        error_description:
          "token quota '10/week': '10/week' is not N/PERIOD (N a positive integer, PERIOD s, min, h or d)",
      });
      const good = await fetch(`${tessera.url}/admin/v1/clients`, {
        method: 'POST',
        headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'q', token_quota: '5000/d,10/s', reuse_tokens: true }),
      });
      assert.equal(good.status, 201);
      const view = (await good.json()) as Record<string, unknown>;
      assert.equal(view.token_quota, '10/s,5000/d');
      assert.equal(view.reuse_tokens, true);
      const patched = await fetch(`${tessera.url}/admin/v1/clients/${String(view.client_id)}`, {
        method: 'PATCH',
        headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ token_quota: null, reuse_tokens: false }),
      });
      const after = (await patched.json()) as Record<string, unknown>;
      assert.equal(after.token_quota, null);
      assert.equal(after.reuse_tokens, false);
    } finally {
      await tessera.close();
    }

    const dataDir = await mkdtemp(join(tmpdir(), 'tessera-quota-cli-'));
    try {
      const env = { TESSERA_DATA_DIR: dataDir };
      const bad = await runCli(['clients', 'create', '--name', 'x', '--token-quota', '0/s'], env);
      assert.equal(bad.status, 1);
      assert.match(bad.stderr, /token quota '0\/s'/);
      const made = await runCli(
        ['clients', 'create', '--name', 'x', '--token-quota', '50/min', '--json'],
        env,
      );
      assert.equal(made.status, 0, made.stderr);
      const { client_id } = JSON.parse(made.stdout) as { client_id: string };
      const updated = await runCli(
        ['clients', 'update', client_id, '--token-quota', '5/s,100/h', '--reuse-tokens'],
        env,
      );
      assert.equal(updated.status, 0, updated.stderr);
      const shown = await runCli(['clients', 'show', client_id, '--json'], env);
      const view = JSON.parse(shown.stdout) as Record<string, unknown>;
      assert.equal(view.token_quota, '5/s,100/h');
      assert.equal(view.reuse_tokens, true);
      const badUpdate = await runCli(
        ['clients', 'update', client_id, '--token-quota', '5/s,6/s'],
        env,
      );
      assert.equal(badUpdate.status, 1);
      assert.match(badUpdate.stderr, /period s given twice/);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

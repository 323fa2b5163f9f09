/**
 * Issue 21: the `tenant` label of the token, client-auth, revocation and introspection
 * counters and of the token latency histogram, over real HTTP: path- and host-selected tenants, the token fast path and the
 * Fastify route, and the instance's sums under `serve --workers 2` (the primary aggregates).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from './support/cli.js';
import { startTesseraProcess, within, type TesseraProcess } from './support/instances.js';
import { startTessera, type TestTessera } from './support/tessera.js';
import { send, tenantWithClient, tokenAt, tokenCall } from './support/tenants.js';

/** Prometheus text → `name{labels}` → value. */
function parseMetrics(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    values.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return values;
}

const issued = (tenant: string) =>
  `tessera_token_requests_total{outcome="issued",auth_method="client_secret_basic",tenant="${tenant}"}`;
const refused = (tenant: string) =>
  `tessera_token_requests_total{outcome="invalid_client",auth_method="client_secret_basic",tenant="${tenant}"}`;
const wrongSecret = (tenant: string) =>
  `tessera_client_auth_failures_total{reason="wrong_secret",tenant="${tenant}"}`;
const unknownClient = (tenant: string) =>
  `tessera_client_auth_failures_total{reason="unknown_client",tenant="${tenant}"}`;

describe('the tenant label on the request counters', () => {
  let tessera: TestTessera;
  before(async () => {
    tessera = await startTessera({ tenantHosts: new Map([['sandbox.auth.test', 'sandbox']]) });
  });
  after(() => tessera?.close());

  const scrape = async () => parseMetrics((await send(`${tessera.url}/metrics`)).text);

  it('counts each request under its tenant, by path and by host, default for the rest', async () => {
    const sandbox = await tenantWithClient(tessera.server.context, 'sandbox');
    const production = await tenantWithClient(tessera.server.context, 'production');
    const home = await tessera.createClient({ scope: 'tessera:introspect' });
    await tessera.server.context.syncChanges();

    // Three sandbox tokens by path (the first loads the tenant through the Fastify route,
    // the next ones take the token fast path), two by host.
    for (let i = 0; i < 3; i += 1)
      assert.equal((await tokenAt(`${tessera.url}/t/sandbox/oauth/token`, sandbox)).status, 200);
    for (let i = 0; i < 2; i += 1) {
      const byHost = await tokenAt(`${tessera.url}/oauth/token`, sandbox, {
        host: 'sandbox.auth.test',
      });
      assert.equal(byHost.status, 200, byHost.text);
    }
    const production1 = await tokenAt(`${tessera.url}/t/production/oauth/token`, production);
    assert.equal(production1.status, 200);
    const wrong = { ...production, clientSecret: 'wrong' };
    assert.equal((await tokenAt(`${tessera.url}/t/production/oauth/token`, wrong)).status, 401);
    // A sandbox client at production: unknown there, and counted there.
    assert.equal((await tokenAt(`${tessera.url}/t/production/oauth/token`, sandbox)).status, 401);
    assert.equal((await tokenAt(`${tessera.url}/oauth/token`, home)).status, 200);
    // An unknown tenant mints no label.
    assert.equal((await tokenAt(`${tessera.url}/t/nope/oauth/token`, home)).status, 404);

    const token = (await tokenAt(`${tessera.url}/t/production/oauth/token`, production)).json
      .access_token as string;
    const introspected = await tokenCall(
      `${tessera.url}/t/production/oauth/introspect`,
      production,
      token,
    );
    assert.equal(introspected.status, 200, introspected.text);
    const revoked = await tokenCall(`${tessera.url}/t/production/oauth/revoke`, production, token);
    assert.equal(revoked.status, 200, revoked.text);

    const metrics = await scrape();
    assert.equal(metrics.get(issued('sandbox')), 5);
    assert.equal(metrics.get(issued('production')), 2);
    assert.equal(metrics.get(issued('default')), 1);
    assert.equal(metrics.get(refused('production')), 2);
    assert.equal(metrics.get(refused('sandbox')), undefined);
    assert.equal(metrics.get(wrongSecret('production')), 1);
    assert.equal(metrics.get(unknownClient('production')), 1);
    assert.equal(
      metrics.get('tessera_introspection_requests_total{outcome="answered",tenant="production"}'),
      1,
    );
    assert.equal(
      metrics.get('tessera_revocation_requests_total{outcome="revoked",tenant="production"}'),
      1,
    );
    assert.ok(![...metrics.keys()].some((series) => series.includes('tenant="nope"')));
  });
});

describe('the tenant label under serve --workers 2', () => {
  let dataDir: string;
  let server: TesseraProcess;
  let client: { client_id: string; client_secret: string };
  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tessera-tenant-metrics-'));
    const env = { TESSERA_DATA_DIR: dataDir };
    const tenant = await runCli(['tenants', 'create', 'sandbox', '--json'], env);
    assert.equal(tenant.status, 0, tenant.stderr);
    const created = await runCli(
      ['clients', 'create', '--tenant', 'sandbox', '--name', 'counted', '--json'],
      env,
    );
    assert.equal(created.status, 0, created.stderr);
    client = JSON.parse(created.stdout) as typeof client;
    server = await startTesseraProcess(`sqlite:${join(dataDir, 'tessera.db')}`, {
      ...env,
      TESSERA_WORKERS: '2',
    });
    const listening = () =>
      server
        .output()
        .split('\n')
        .filter((line) => line.includes('tessera listening')).length;
    assert.ok(await within(20_000, async () => listening() >= 2), server.output());
  });
  after(async () => {
    await server?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it("sums every worker's counts per tenant on every scrape", async () => {
    const tokens = 12;
    const credentials = { clientId: client.client_id, clientSecret: client.client_secret };
    for (let i = 0; i < tokens; i += 1) {
      const answer = await tokenAt(`${server.url}/t/sandbox/oauth/token`, credentials);
      assert.equal(answer.status, 200, answer.text);
    }
    const wrong = { ...credentials, clientSecret: 'wrong' };
    for (let i = 0; i < 3; i += 1)
      assert.equal((await tokenAt(`${server.url}/t/sandbox/oauth/token`, wrong)).status, 401);
    for (let i = 0; i < 6; i += 1) {
      const metrics = parseMetrics((await send(`${server.url}/metrics`)).text);
      assert.equal(metrics.get(issued('sandbox')), tokens, `scrape ${i}`);
      assert.equal(metrics.get(wrongSecret('sandbox')), 3, `scrape ${i}`);
      assert.equal(metrics.get(issued('default')), undefined, `scrape ${i}`);
      // The latency histogram too: every sandbox request, refused ones included.
      assert.equal(
        metrics.get('tessera_token_request_duration_seconds_count{tenant="sandbox"}'),
        tokens + 3,
        `scrape ${i}`,
      );
      assert.equal(
        metrics.get('tessera_token_request_duration_seconds_bucket{tenant="sandbox",le="+Inf"}'),
        tokens + 3,
        `scrape ${i}`,
      );
    }
  });
});

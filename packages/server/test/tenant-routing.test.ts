/**
 * Issue 21, over real HTTP on loopback and real SQLite files: the RFC 8414 §3.1 discovery
 * URLs of path-selected tenants and of a server issuer with a path, `/t/default` (404), and
 * host selection through a trusted proxy's `X-Forwarded-Host` (and `Forwarded: host=`),
 * ignored from anyone else. The per-tenant label of the latency histogram and of quota
 * refusals is counted here too, since it follows the same selection.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTessera, type TestTessera } from './support/tessera.js';
import { within } from './support/instances.js';
import { claimsOf, send, tenantWithClient, tokenAt } from './support/tenants.js';

const asMetadata = (body: Record<string, unknown>) =>
  body as { issuer: string; token_endpoint: string; jwks_uri: string };

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

describe('RFC 8414 §3.1 discovery URLs of path-selected tenants', () => {
  let tessera: TestTessera;
  before(async () => {
    tessera = await startTessera();
    await tenantWithClient(tessera.server.context, 'sandbox');
    await tessera.server.context.syncChanges();
  });
  after(() => tessera?.close());

  it('serves the tenant document with the well-known name inserted before /t/NAME', async () => {
    const inPath = await send(`${tessera.url}/t/sandbox/.well-known/oauth-authorization-server`);
    assert.equal(inPath.status, 200, inPath.text);
    const issuer = `${tessera.url}/t/sandbox`;
    assert.equal(asMetadata(inPath.json).issuer, issuer);
    for (const name of ['oauth-authorization-server', 'openid-configuration']) {
      // RFC 8414 §3.1: `https://host/.well-known/NAME` + the issuer's path.
      const inserted = await send(`${tessera.url}/.well-known/${name}/t/sandbox`);
      assert.equal(inserted.status, 200, `${name}: ${inserted.text}`);
      assert.deepEqual(inserted.json, inPath.json, name);
    }
  });

  it('answers 404 for an unknown tenant and for paths beyond the issuer', async () => {
    for (const path of [
      '/.well-known/oauth-authorization-server/t/nope',
      '/.well-known/openid-configuration/t/nope',
    ]) {
      const answer = await send(`${tessera.url}${path}`);
      assert.equal(answer.status, 404, path);
      assert.deepEqual(answer.json, { error: 'not_found', error_description: 'No tenant nope' });
    }
    for (const path of [
      '/.well-known/oauth-authorization-server/t/sandbox/extra',
      '/.well-known/oauth-authorization-server/t/',
      '/.well-known/oauth-authorization-server/elsewhere',
      '/.well-known/oauth-authorization-server/',
    ]) {
      const answer = await send(`${tessera.url}${path}`);
      assert.equal(answer.status, 404, `${path}: ${answer.text}`);
      assert.equal(answer.json.error, 'not_found', path);
    }
  });

  it('keeps /t/default a 404: the default issuer is the server URL itself', async () => {
    for (const path of [
      '/t/default/.well-known/oauth-authorization-server',
      '/t/default/.well-known/openid-configuration',
      '/t/default/.well-known/jwks.json',
      '/.well-known/oauth-authorization-server/t/default',
    ]) {
      const answer = await send(`${tessera.url}${path}`);
      assert.equal(answer.status, 404, path);
      assert.deepEqual(answer.json, { error: 'not_found', error_description: 'No tenant default' });
    }
    const home = await tessera.createClient();
    const token = await tokenAt(`${tessera.url}/t/default/oauth/token`, home);
    assert.equal(token.status, 404, token.text);
    // The default tenant's own document is where its issuer says.
    const own = await send(`${tessera.url}/.well-known/oauth-authorization-server`);
    assert.equal(asMetadata(own.json).issuer, tessera.url);
  });
});

describe('a server issuer with a path (--issuer https://host/auth)', () => {
  let tessera: TestTessera;
  let issuer: string;
  before(async () => {
    tessera = await startTessera();
    // As behind a proxy that maps https://host/auth/… to this server's /….
    issuer = `${tessera.url}/auth`;
    tessera.server.context.config.issuer = issuer;
    await tenantWithClient(tessera.server.context, 'sandbox');
    await tessera.server.context.syncChanges();
  });
  after(() => tessera?.close());

  it("serves its own document at /.well-known/…/auth as well as at the issuer's path", async () => {
    const plain = await send(`${tessera.url}/.well-known/oauth-authorization-server`);
    assert.equal(plain.status, 200);
    assert.equal(asMetadata(plain.json).issuer, issuer);
    assert.equal(asMetadata(plain.json).token_endpoint, `${issuer}/oauth/token`);
    for (const name of ['oauth-authorization-server', 'openid-configuration']) {
      const inserted = await send(`${tessera.url}/.well-known/${name}/auth`);
      assert.equal(inserted.status, 200, `${name}: ${inserted.text}`);
      assert.deepEqual(inserted.json, plain.json);
    }
    // Another path is not this issuer's.
    assert.equal(
      (await send(`${tessera.url}/.well-known/oauth-authorization-server/other`)).status,
      404,
    );
  });

  it("serves a tenant's document at /.well-known/…/auth/t/NAME (and without /auth)", async () => {
    const inPath = await send(`${tessera.url}/t/sandbox/.well-known/oauth-authorization-server`);
    assert.equal(asMetadata(inPath.json).issuer, `${issuer}/t/sandbox`);
    for (const path of [
      '/.well-known/oauth-authorization-server/auth/t/sandbox',
      '/.well-known/openid-configuration/auth/t/sandbox',
      // A proxy that strips /auth from every path it forwards.
      '/.well-known/oauth-authorization-server/t/sandbox',
    ]) {
      const answer = await send(`${tessera.url}${path}`);
      assert.equal(answer.status, 200, `${path}: ${answer.text}`);
      assert.deepEqual(answer.json, inPath.json, path);
    }
    const unknown = await send(`${tessera.url}/.well-known/oauth-authorization-server/auth/t/nope`);
    assert.equal(unknown.status, 404);

    // /openapi.json names both forms at the issuer's origin (its paths are under the issuer).
    const document = (await send(`${tessera.url}/openapi.json`)).json as {
      servers: Array<{ url: string }>;
      paths: Record<string, { servers?: Array<{ url: string }> }>;
    };
    assert.equal(document.servers[0]!.url, issuer);
    for (const path of [
      '/.well-known/oauth-authorization-server/auth/t/{tenant}',
      '/.well-known/openid-configuration/auth/t/{tenant}',
      '/.well-known/oauth-authorization-server/auth',
    ])
      assert.deepEqual(document.paths[path]?.servers, [{ url: tessera.url }], path);
  });
});

describe('--tenant-host behind a trusted proxy: X-Forwarded-Host', () => {
  let trusted: TestTessera;
  let untrusted: TestTessera;
  let sandboxAtTrusted: { clientId: string; clientSecret: string };
  let sandboxAtUntrusted: { clientId: string; clientSecret: string };
  const tenantHosts = new Map([['sandbox.auth.test', 'sandbox']]);
  before(async () => {
    // The test's requests come from 127.0.0.1: a trusted proxy for one server, not the other.
    trusted = await startTessera({ tenantHosts, trustedProxies: ['127.0.0.1'] });
    untrusted = await startTessera({ tenantHosts, trustedProxies: ['10.0.0.0/8'] });
    sandboxAtTrusted = await tenantWithClient(trusted.server.context, 'sandbox');
    sandboxAtUntrusted = await tenantWithClient(untrusted.server.context, 'sandbox');
    await trusted.server.context.syncChanges();
    await untrusted.server.context.syncChanges();
  });
  after(async () => {
    await trusted?.close();
    await untrusted?.close();
  });

  const discoveryIssuer = async (url: string, headers: Record<string, string>) =>
    asMetadata((await send(`${url}/.well-known/oauth-authorization-server`, { headers })).json)
      .issuer;

  it("selects the tenant by the trusted proxy's first X-Forwarded-Host", async () => {
    const { url } = trusted;
    for (const forwarded of [
      'sandbox.auth.test',
      'Sandbox.Auth.Test:443',
      'sandbox.auth.test, proxy.internal',
    ])
      assert.equal(
        await discoveryIssuer(url, { 'x-forwarded-host': forwarded }),
        `${url}/t/sandbox`,
        forwarded,
      );
    // The client-facing host is the first value; a later one is the proxies' business.
    assert.equal(
      await discoveryIssuer(url, { 'x-forwarded-host': 'api.example.com, sandbox.auth.test' }),
      url,
    );
    // Forwarded: host= (RFC 7239) when there is no X-Forwarded-Host.
    assert.equal(
      await discoveryIssuer(url, {
        forwarded: 'for=192.0.2.1;host="sandbox.auth.test";proto=https',
      }),
      `${url}/t/sandbox`,
    );
    // The forwarded host wins over Host: it is the one the client asked for.
    assert.equal(
      await discoveryIssuer(url, { host: 'sandbox.auth.test', 'x-forwarded-host': 'auth.test' }),
      url,
    );
    // Tokens too, on the token fast path and on the route: issued by the tenant.
    for (let i = 0; i < 2; i += 1) {
      const token = await tokenAt(`${url}/oauth/token`, sandboxAtTrusted, {
        'x-forwarded-host': 'sandbox.auth.test',
      });
      assert.equal(token.status, 200, token.text);
      assert.equal(claimsOf(token.json.access_token as string).iss, `${url}/t/sandbox`);
    }
    const metrics = parseMetrics((await send(`${url}/metrics`)).text);
    assert.equal(
      metrics.get(
        'tessera_token_requests_total{outcome="issued",auth_method="client_secret_basic",tenant="sandbox"}',
      ),
      2,
    );
    assert.equal(metrics.get('tessera_token_request_duration_seconds_count{tenant="sandbox"}'), 2);
  });

  it('ignores X-Forwarded-Host and Forwarded from an address that is no trusted proxy', async () => {
    const { url } = untrusted;
    assert.equal(await discoveryIssuer(url, { 'x-forwarded-host': 'sandbox.auth.test' }), url);
    assert.equal(await discoveryIssuer(url, { forwarded: 'host=sandbox.auth.test' }), url);
    // Host still selects, as without a proxy.
    assert.equal(await discoveryIssuer(url, { host: 'sandbox.auth.test' }), `${url}/t/sandbox`);
    // A sandbox client naming the sandbox host in X-Forwarded-Host lands at the default
    // tenant, where it is unknown.
    const token = await tokenAt(`${url}/oauth/token`, sandboxAtUntrusted, {
      'x-forwarded-host': 'sandbox.auth.test',
    });
    assert.equal(token.status, 401, token.text);
    const metrics = parseMetrics((await send(`${url}/metrics`)).text);
    assert.equal(
      metrics.get(
        'tessera_token_requests_total{outcome="invalid_client",auth_method="client_secret_basic",tenant="default"}',
      ),
      1,
    );
    assert.equal(
      metrics.get('tessera_token_request_duration_seconds_count{tenant="sandbox"}'),
      undefined,
    );
  });
});

describe('the tenant label on the latency histogram and quota refusals', () => {
  let tessera: TestTessera;
  before(async () => {
    tessera = await startTessera({ tokenQuota: '2/min' });
  });
  after(() => tessera?.close());

  it('counts each under the tenant of the request, and mints no label for an unknown tenant', async () => {
    const sandbox = await tenantWithClient(tessera.server.context, 'sandbox');
    const home = await tessera.createClient();
    await tessera.server.context.syncChanges();
    // Three at the sandbox (the first by the route, which loads the tenant; then the fast
    // path): two within the quota, one refused 429. One at the default tenant.
    const statuses: number[] = [];
    for (let i = 0; i < 3; i += 1)
      statuses.push((await tokenAt(`${tessera.url}/t/sandbox/oauth/token`, sandbox)).status);
    assert.deepEqual(statuses, [200, 200, 429]);
    assert.equal((await tokenAt(`${tessera.url}/oauth/token`, home)).status, 200);
    assert.equal((await tokenAt(`${tessera.url}/t/nope/oauth/token`, home)).status, 404);

    const metrics = parseMetrics((await send(`${tessera.url}/metrics`)).text);
    const histogram = 'tessera_token_request_duration_seconds';
    assert.equal(metrics.get(`${histogram}_count{tenant="sandbox"}`), 3);
    assert.equal(metrics.get(`${histogram}_bucket{tenant="sandbox",le="+Inf"}`), 3);
    assert.ok(metrics.get(`${histogram}_sum{tenant="sandbox"}`)! > 0);
    assert.equal(metrics.get(`${histogram}_count{tenant="default"}`), 1);
    assert.equal(
      metrics.get('tessera_token_quota_refusals_total{mode="enforce",tenant="sandbox"}'),
      1,
    );
    assert.equal(
      metrics.get('tessera_token_quota_refusals_total{mode="enforce",tenant="default"}'),
      undefined,
    );
    assert.ok(![...metrics.keys()].some((series) => series.includes('tenant="nope"')));
  });
});

describe('the tenant label on the client cache metrics', () => {
  let tessera: TestTessera;
  before(async () => {
    tessera = await startTessera();
  });
  after(() => tessera?.close());

  it("counts each tenant's client cache lookups, carried on across a tenant change", async () => {
    const { context } = tessera.server;
    const counted = await tenantWithClient(context, 'counted');
    await context.syncChanges();
    const lookups = async () => {
      const metrics = parseMetrics((await send(`${tessera.url}/metrics`)).text);
      const of = (result: string) =>
        metrics.get(`tessera_client_cache_lookups_total{result="${result}",tenant="counted"}`) ?? 0;
      return {
        hit: of('hit'),
        miss: of('miss'),
        entries: metrics.get('tessera_client_cache_entries{tenant="counted"}'),
      };
    };
    assert.equal((await tokenAt(`${tessera.url}/t/counted/oauth/token`, counted)).status, 200);
    assert.equal((await tokenAt(`${tessera.url}/t/counted/oauth/token`, counted)).status, 200);
    const first = await lookups();
    // One store read for the first token, a cache hit for the second.
    assert.equal(first.miss, 1);
    assert.ok(first.hit >= 1, JSON.stringify(first));
    assert.equal(first.entries, 1);
    // A changed tenant gets a new context and cache: the counters go on from where they were.
    // As the admin API does: the change, then the tenant's context dropped for a rebuild.
    await context.store.updateTenant('counted', { tokenTtl: 120 });
    await context.tenants.changed('counted');
    const rebuilt = await within(5_000, async () => {
      const token = await tokenAt(`${tessera.url}/t/counted/oauth/token`, counted);
      return token.json.expires_in === 120;
    });
    assert.ok(rebuilt, 'the changed tenant is seen');
    const second = await lookups();
    assert.equal(second.miss, first.miss + 1, JSON.stringify({ first, second }));
    assert.ok(second.hit >= first.hit, JSON.stringify({ first, second }));
  });
});

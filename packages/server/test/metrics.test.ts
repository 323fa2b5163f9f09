import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { basicAuthorization, postForm, startTessera, type TestTessera } from './support/tessera.js';
import { getToken } from './support/tokens.js';

/** Prometheus text → `name{labels}` → value (labels as the server wrote them). */
function parseMetrics(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    values.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return values;
}

async function scrape(url: string): Promise<Map<string, number>> {
  const response = await fetch(`${url}/metrics`);
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
  return parseMetrics(await response.text());
}

const delta = (before: Map<string, number>, after: Map<string, number>, series: string) =>
  (after.get(series) ?? 0) - (before.get(series) ?? 0);

describe('metrics', () => {
  let tessera: TestTessera;
  let adminToken: string;
  before(async () => {
    tessera = await startTessera({
      authFailureLimits: { perClient: 3, perAddress: 1000, windowSeconds: 60, lockSeconds: 60 },
      // Per-client series are off by default since issue 16 (metrics-exposure.test.ts).
      metricsClientLabels: true,
    });
    adminToken = await getToken(
      tessera.url,
      await tessera.createClient({ scope: 'tessera:admin' }),
    );
  });
  after(() => tessera.close());

  const tokenUrl = () => `${tessera.url}/oauth/token`;
  const basic = (
    client: { clientId: string; clientSecret: string },
    secret = client.clientSecret,
  ) =>
    postForm(
      tokenUrl(),
      { grant_type: 'client_credentials' },
      { authorization: basicAuthorization(client.clientId, secret) },
    );
  const admin = async (path: string) => {
    const response = await fetch(`${tessera.url}${path}`, {
      headers: { authorization: `Bearer ${adminToken}` },
    });
    assert.equal(response.status, 200);
    return response.json() as Promise<Record<string, unknown>>;
  };

  it('counts a burst of token, revocation and introspection requests exactly', async () => {
    const partner = await tessera.createClient({ scope: 'read' });
    const poster = await tessera.createClient({ scope: 'read' });
    const guarded = await tessera.createClient({ scope: 'read' });
    const disabled = await tessera.createClient({ scope: 'read' });
    await tessera.registry.setStatus(disabled.clientId, 'disabled');
    const inspector = await tessera.createClient({ scope: 'tessera:introspect' });
    const context = tessera.server.context;

    const before = await scrape(tessera.url);
    const cacheBefore = { hits: context.clients.hits, misses: context.clients.storeReads };

    const tokens: string[] = [];
    for (let i = 0; i < 5; i += 1) {
      const ok = await basic(partner);
      assert.equal(ok.status, 200);
      tokens.push((ok.body as { access_token: string }).access_token);
    }
    for (let i = 0; i < 3; i += 1) {
      const ok = await postForm(tokenUrl(), {
        grant_type: 'client_credentials',
        client_id: poster.clientId,
        client_secret: poster.clientSecret,
      });
      assert.equal(ok.status, 200);
    }
    assert.equal((await basic(partner, 'tsr_wrong')).status, 401);
    assert.equal((await basic(partner, 'tsr_wrong')).status, 401);
    const unknown = await postForm(tokenUrl(), {
      grant_type: 'client_credentials',
      client_id: 'nobody',
      client_secret: 'x',
    });
    assert.equal(unknown.status, 401);
    assert.equal((await basic(disabled)).status, 401);
    const wrongGrant = await postForm(
      tokenUrl(),
      { grant_type: 'password' },
      { authorization: basicAuthorization(partner.clientId, partner.clientSecret) },
    );
    assert.equal(wrongGrant.status, 400);
    // Three failures lock `guarded`; the fourth attempt is refused before verification.
    for (let i = 0; i < 3; i += 1) assert.equal((await basic(guarded, 'tsr_wrong')).status, 401);
    assert.equal((await basic(guarded)).status, 429);

    const auth = { authorization: basicAuthorization(partner.clientId, partner.clientSecret) };
    assert.equal(
      (await postForm(`${tessera.url}/oauth/revoke`, { token: tokens[0]! }, auth)).status,
      200,
    );
    const introspected = await postForm(
      `${tessera.url}/oauth/introspect`,
      { token: tokens[1]! },
      { authorization: basicAuthorization(inspector.clientId, inspector.clientSecret) },
    );
    assert.equal(introspected.status, 200);

    const after = await scrape(tessera.url);
    const moved = (series: string) => delta(before, after, series);
    assert.equal(
      moved(
        'tessera_token_requests_total{outcome="issued",auth_method="client_secret_basic",tenant="default"}',
      ),
      5,
    );
    assert.equal(
      moved(
        'tessera_token_requests_total{outcome="issued",auth_method="client_secret_post",tenant="default"}',
      ),
      3,
    );
    assert.equal(
      moved(
        'tessera_token_requests_total{outcome="invalid_client",auth_method="client_secret_basic",tenant="default"}',
      ),
      6,
    );
    assert.equal(
      moved(
        'tessera_token_requests_total{outcome="invalid_client",auth_method="client_secret_post",tenant="default"}',
      ),
      1,
    );
    assert.equal(
      moved(
        'tessera_token_requests_total{outcome="unsupported_grant_type",auth_method="client_secret_basic",tenant="default"}',
      ),
      1,
    );
    assert.equal(
      moved(
        'tessera_token_requests_total{outcome="temporarily_unavailable",auth_method="client_secret_basic",tenant="default"}',
      ),
      1,
    );
    assert.equal(moved('tessera_token_request_duration_seconds_count{tenant="default"}'), 17);
    assert.equal(
      moved('tessera_token_request_duration_seconds_bucket{tenant="default",le="+Inf"}'),
      17,
    );
    assert.ok(moved('tessera_token_request_duration_seconds_sum{tenant="default"}') > 0);
    assert.equal(
      moved('tessera_client_auth_failures_total{reason="wrong_secret",tenant="default"}'),
      5,
    );
    assert.equal(
      moved('tessera_client_auth_failures_total{reason="unknown_client",tenant="default"}'),
      1,
    );
    assert.equal(
      moved('tessera_client_auth_failures_total{reason="client_disabled",tenant="default"}'),
      1,
    );
    assert.equal(
      moved('tessera_client_auth_failures_total{reason="locked_out",tenant="default"}'),
      1,
    );
    assert.equal(moved('tessera_auth_lockouts_total{key="client_id",tenant="default"}'), 1);
    assert.equal(moved('tessera_revocation_requests_total{outcome="revoked",tenant="default"}'), 1);
    assert.equal(
      moved('tessera_introspection_requests_total{outcome="answered",tenant="default"}'),
      1,
    );
    assert.equal(
      moved('tessera_client_cache_lookups_total{result="hit",tenant="default"}'),
      context.clients.hits - cacheBefore.hits,
    );
    assert.equal(
      moved('tessera_client_cache_lookups_total{result="miss",tenant="default"}'),
      context.clients.storeReads - cacheBefore.misses,
    );
    assert.equal(moved('tessera_store_errors_total{operation="getClient"}'), 0);

    const [key] = context.keys.records.filter((record) => record.state === 'active');
    const age = after.get(
      `tessera_signing_key_age_seconds{kid="${key!.kid}",alg="${key!.alg}",state="active"}`,
    );
    assert.ok(age !== undefined && age >= 0);
    assert.equal(after.get(`tessera_client_tokens_issued_24h{client_id="${partner.clientId}"}`), 5);
    assert.equal(after.get(`tessera_client_auth_failures_24h{client_id="${partner.clientId}"}`), 2);
    assert.ok(![...after.keys()].some((series) => series.includes('client_id="nobody"')));

    const activity = (await admin(
      `/admin/v1/activity?client_id=${encodeURIComponent(partner.clientId)}`,
    )) as { issued: number[]; auth_failures: number[]; totals: unknown; client_id: string };
    assert.equal(activity.client_id, partner.clientId);
    assert.equal(activity.issued.length, 900);
    assert.deepEqual(activity.totals, { issued: 5, auth_failures: 2 });
    const overall = (await admin('/admin/v1/activity')) as { totals: { issued: number } };
    assert.equal(overall.totals.issued, 5 + 3 + 1, 'with the admin token issued in before()');
    const perClient = (await admin('/admin/v1/activity/clients')) as {
      clients: Array<{ client_id: string }>;
    };
    const partnerRow = perClient.clients.find((row) => row.client_id === partner.clientId);
    assert.deepEqual(
      {
        ...partnerRow,
        last_used_at: typeof (partnerRow as { last_used_at?: unknown }).last_used_at,
      },
      {
        client_id: partner.clientId,
        tokens_issued_24h: 5,
        auth_failures_24h: 2,
        last_used_at: 'string',
      },
    );
    assert.equal(
      perClient.clients.some((row) => row.client_id === 'nobody'),
      false,
      'unknown client_ids are counted overall only',
    );
  });

  it('counts failed store calls by operation', async () => {
    const context = tessera.server.context;
    const before = await scrape(tessera.url);
    await assert.rejects(context.store.appendAudit(null as never));
    const after = await scrape(tessera.url);
    assert.equal(delta(before, after, 'tessera_store_errors_total{operation="appendAudit"}'), 1);
  });
});

describe('admin change logs', () => {
  it('logs every admin change with the request id, action and target, never a secret', async () => {
    const lines: string[] = [];
    const tessera = await startTessera({
      logLevel: 'info',
      logStream: { write: (line) => lines.push(line) },
    });
    try {
      const token = await getToken(
        tessera.url,
        await tessera.createClient({ scope: 'tessera:admin' }),
      );
      const call = async (method: string, path: string, body?: unknown) => {
        const response = await fetch(`${tessera.url}/admin/v1${path}`, {
          method,
          headers: {
            authorization: `Bearer ${token}`,
            'x-request-id': `req-${method}-${path.replace(/\W/g, '')}`.slice(0, 60),
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
        const text = await response.text();
        return text
          ? (JSON.parse(text) as { client_id: string; client_secret: string; kid: string })
          : undefined;
      };
      const created = (await call('POST', '/clients', { name: 'Logged', scope: 'read' }))!;
      const id = created.client_id;
      await call('PATCH', `/clients/${id}`, { scope: 'read write' });
      const rotated = (await call('POST', `/clients/${id}/rotate-secret`, { grace_seconds: 0 }))!;
      await call('POST', `/clients/${id}/disable`);
      await call('POST', `/clients/${id}/enable`);
      await call('DELETE', `/clients/${id}`);
      const key = (await call('POST', '/keys/rotate', { propagation_seconds: 0 }))!;

      const changes = lines
        .map(
          (line) =>
            JSON.parse(line) as { msg: string; reqId: string; action: string; target: string },
        )
        .filter((line) => line.msg === 'admin change')
        .map(({ reqId, action, target }) => ({ reqId, action, target }));
      assert.deepEqual(changes, [
        { reqId: 'req-POST-clients', action: 'client.create', target: id },
        { reqId: `req-PATCH-clients${id.replace(/\W/g, '')}`, action: 'client.update', target: id },
        {
          reqId: `req-POST-clients${id.replace(/\W/g, '')}rotatesecret`,
          action: 'client.rotate_secret',
          target: id,
        },
        {
          reqId: `req-POST-clients${id.replace(/\W/g, '')}disable`,
          action: 'client.disable',
          target: id,
        },
        {
          reqId: `req-POST-clients${id.replace(/\W/g, '')}enable`,
          action: 'client.enable',
          target: id,
        },
        {
          reqId: `req-DELETE-clients${id.replace(/\W/g, '')}`,
          action: 'client.delete',
          target: id,
        },
        { reqId: 'req-POST-keysrotate', action: 'key.rotate', target: key.kid },
      ]);
      const all = lines.join('\n');
      assert.ok(!all.includes(created.client_secret));
      assert.ok(!all.includes(rotated.client_secret));
      assert.ok(!all.includes(token));
    } finally {
      await tessera.close();
    }
  });
});

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { after, before, describe, it } from 'node:test';
import { runCli } from './support/cli.js';
import { basicAuthorization, postForm, startTessera, type TestTessera } from './support/tessera.js';
import { getToken } from './support/tokens.js';

describe('admin API', () => {
  let tessera: TestTessera;
  let adminClient: { clientId: string; clientSecret: string };
  let adminToken: string;
  before(async () => {
    tessera = await startTessera();
    adminClient = await tessera.createClient({ scope: 'tessera:admin' });
    adminToken = await getToken(tessera.url, adminClient);
  });
  after(() => tessera.close());

  const call = async (method: string, path: string, body?: unknown, token = adminToken) => {
    const response = await fetch(`${tessera.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return {
      status: response.status,
      headers: response.headers,
      body: text ? JSON.parse(text) : undefined,
    };
  };

  it('opens only for Tessera access tokens with tessera:admin', async () => {
    const none = await fetch(`${tessera.url}/admin/v1/clients`);
    assert.equal(none.status, 401);
    assert.equal(none.headers.get('www-authenticate'), 'Bearer realm="tessera-admin"');

    const bad = await call('GET', '/admin/v1/clients', undefined, 'not.a.token');
    assert.equal(bad.status, 401);
    assert.deepEqual(bad.body, {
      error: 'invalid_token',
      error_description: 'The access token is not valid',
    });
    assert.equal(
      bad.headers.get('www-authenticate'),
      'Bearer realm="tessera-admin", error="invalid_token", error_description="The access token is not valid"',
    );

    const plain = await tessera.createClient({ scope: 'read' });
    const weak = await call(
      'GET',
      '/admin/v1/clients',
      undefined,
      await getToken(tessera.url, plain),
    );
    assert.equal(weak.status, 403);
    assert.deepEqual(weak.body, {
      error: 'insufficient_scope',
      error_description: 'The access token lacks the tessera:admin scope',
    });
    assert.equal(
      weak.headers.get('www-authenticate'),
      'Bearer realm="tessera-admin", error="insufficient_scope", scope="tessera:admin"',
    );

    const basic = await fetch(`${tessera.url}/admin/v1/clients`, {
      headers: {
        authorization: basicAuthorization(adminClient.clientId, adminClient.clientSecret),
      },
    });
    assert.equal(basic.status, 400, 'client credentials do not open the admin API');
  });

  it('creates, shows, updates, disables, enables, rotates and deletes a client', async () => {
    const created = await call('POST', '/admin/v1/clients', {
      name: 'Partner',
      scope: 'read write',
      audience: 'https://api.partner.test',
      token_ttl: 900,
      auth_method: 'client_secret_basic',
    });
    assert.equal(created.status, 201);
    assert.equal(created.headers.get('cache-control'), 'no-store');
    const { client_id: id, client_secret: secret } = created.body as {
      client_id: string;
      client_secret: string;
    };
    assert.match(secret, /^tsr_/);
    assert.deepEqual(Object.keys(created.body), [
      'client_id',
      'client_secret',
      'name',
      'status',
      'scope',
      'audience',
      'token_ttl',
      'auth_method',
      'grant_types',
      'token_quota',
      'reuse_tokens',
      'created_at',
      'updated_at',
    ]);
    const tokenStatus = async (s = secret) =>
      (
        await postForm(
          `${tessera.url}/oauth/token`,
          { grant_type: 'client_credentials' },
          { authorization: basicAuthorization(id, s) },
        )
      ).status;
    assert.equal(await tokenStatus(), 200);

    const shown = await call('GET', `/admin/v1/clients/${id}`);
    assert.equal(shown.status, 200);
    assert.equal(shown.body.token_ttl, 900);
    assert.ok(!JSON.stringify(shown.body).includes(secret));

    const updated = await call('PATCH', `/admin/v1/clients/${id}`, {
      scope: 'read',
      token_ttl: 60,
    });
    assert.deepEqual([updated.body.scope, updated.body.token_ttl], ['read', 60]);
    const token = await postForm(
      `${tessera.url}/oauth/token`,
      { grant_type: 'client_credentials' },
      { authorization: basicAuthorization(id, secret) },
    );
    assert.deepEqual(
      [(token.body as { scope: string }).scope, (token.body as { expires_in: number }).expires_in],
      ['read', 60],
    );

    assert.equal((await call('POST', `/admin/v1/clients/${id}/disable`)).body.status, 'disabled');
    assert.equal(await tokenStatus(), 401);
    assert.equal((await call('POST', `/admin/v1/clients/${id}/enable`)).body.status, 'active');
    assert.equal(await tokenStatus(), 200);

    const rotated = await call('POST', `/admin/v1/clients/${id}/rotate-secret`, {
      grace_seconds: 0,
    });
    assert.equal(rotated.status, 200);
    assert.equal(await tokenStatus(rotated.body.client_secret), 200);
    assert.equal(await tokenStatus(), 401, 'no grace: the old secret stops at once');

    const list = await call('GET', '/admin/v1/clients');
    assert.ok(list.body.clients.some((c: { client_id: string }) => c.client_id === id));

    assert.equal((await call('DELETE', `/admin/v1/clients/${id}`)).status, 204);
    assert.equal(await tokenStatus(rotated.body.client_secret), 401);
    const gone = await call('GET', `/admin/v1/clients/${id}`);
    assert.deepEqual(
      [gone.status, gone.body],
      [404, { error: 'not_found', error_description: `no client with client_id ${id}` }],
    );
  });

  it('lists clients a page at a time by cursor, and searches id and name prefixes', async () => {
    const tag = `Paged${randomUUID().slice(0, 8)}`;
    const ids: string[] = [];
    for (let i = 0; i < 7; i += 1) {
      const created = await call('POST', '/admin/v1/clients', {
        name: `${tag} partner ${i}`,
        scope: 'read',
      });
      assert.equal(created.status, 201);
      ids.push(created.body.client_id as string);
    }
    // Without parameters: today's shape, every client of a small registry, plus next_cursor.
    const all = await call('GET', '/admin/v1/clients');
    assert.equal(all.status, 200);
    assert.deepEqual(Object.keys(all.body).sort(), ['clients', 'next_cursor']);
    assert.equal(all.body.next_cursor, null);
    for (const id of ids)
      assert.ok(all.body.clients.some((c: { client_id: string }) => c.client_id === id));

    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query = new URLSearchParams({ q: tag.toLowerCase(), limit: '3' });
      if (cursor) query.set('cursor', cursor);
      const page = await call('GET', `/admin/v1/clients?${query}`);
      assert.equal(page.status, 200, JSON.stringify(page.body));
      assert.ok(page.body.clients.length <= 3);
      seen.push(...page.body.clients.map((c: { client_id: string }) => c.client_id));
      cursor = page.body.next_cursor as string | null;
      pages += 1;
    } while (cursor && pages < 10);
    // Oldest first, then by client_id: the order of the full list.
    const ordered = all.body.clients
      .map((c: { client_id: string }) => c.client_id)
      .filter((id: string) => ids.includes(id));
    assert.deepEqual(seen, ordered);
    assert.deepEqual([...seen].sort(), [...ids].sort());
    assert.equal(pages, 3);

    const byId = await call('GET', `/admin/v1/clients?q=${ids[4]!.slice(0, 18)}`);
    assert.deepEqual(
      byId.body.clients.map((c: { client_id: string }) => c.client_id),
      [ids[4]],
    );
    const bad = await call('GET', '/admin/v1/clients?cursor=bm90LWEtY3Vyc29y');
    assert.deepEqual(
      [bad.status, bad.body],
      [
        400,
        { error: 'invalid_request', error_description: 'cursor is not one this server returned' },
      ],
    );
    assert.equal((await call('GET', '/admin/v1/clients?limit=0')).status, 400);
    assert.equal((await call('GET', '/admin/v1/clients?limit=1001')).status, 400);
  });

  it('refuses bad input with spec-shaped errors', async () => {
    const noName = await call('POST', '/admin/v1/clients', { scope: 'x' });
    assert.deepEqual([noName.status, noName.body.error], [400, 'invalid_client_metadata']);
    const badTtl = await call('POST', '/admin/v1/clients', { name: 'x', token_ttl: 'long' });
    assert.deepEqual(
      [badTtl.status, badTtl.body],
      [
        400,
        { error: 'invalid_client_metadata', error_description: 'token_ttl must be an integer' },
      ],
    );
    const badJson = await fetch(`${tessera.url}/admin/v1/clients`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: '{',
    });
    assert.equal(badJson.status, 400);
    const dup = await call('POST', '/admin/v1/clients', {
      name: 'x',
      client_id: adminClient.clientId,
      client_secret: 'a'.repeat(40),
    });
    assert.deepEqual([dup.status, dup.body.error], [409, 'conflict']);
    const badAlg = await call('POST', '/admin/v1/keys/rotate', { alg: 'HS256' });
    assert.equal(badAlg.status, 400);
  });

  it('lists and rotates keys, and audits every change without secrets', async () => {
    const keys = await call('GET', '/admin/v1/keys');
    assert.equal(keys.body.keys.length, 1);
    const rotated = await call('POST', '/admin/v1/keys/rotate', { propagation_seconds: 60 });
    assert.equal(rotated.status, 201);
    assert.equal(rotated.body.state, 'published');
    assert.equal((await call('GET', '/admin/v1/keys')).body.keys.length, 2);

    const created = await call('POST', '/admin/v1/clients', { name: 'Audited' });
    const audit = await call('GET', '/admin/v1/audit?limit=2');
    assert.deepEqual(
      audit.body.entries.map((e: { action: string; actor: string }) => [e.action, e.actor]),
      [
        ['client.create', `admin-api:${adminClient.clientId}`],
        ['key.rotate', `admin-api:${adminClient.clientId}`],
      ],
    );
    const cli = await runCli(['audit', 'list', '--json', '--database', tessera.database]);
    assert.equal(cli.status, 0, cli.stderr);
    const entries = JSON.parse(cli.stdout) as Array<{ action: string; target: string }>;
    assert.equal(entries[0]!.target, created.body.client_id);
    assert.ok(!cli.stdout.includes(created.body.client_secret));
    assert.ok(!cli.stdout.includes('tsr_'));
  });

  it('records CLI changes in the audit log too', async () => {
    const result = await runCli([
      'clients',
      'create',
      '--name',
      'From CLI',
      '--json',
      '--database',
      tessera.database,
    ]);
    const id = JSON.parse(result.stdout).client_id;
    await runCli(['clients', 'disable', id, '--database', tessera.database]);
    const entries = JSON.parse(
      (await runCli(['audit', 'list', '--limit', '2', '--json', '--database', tessera.database]))
        .stdout,
    );
    assert.deepEqual(
      entries.map((e: { action: string; target: string }) => [e.action, e.target]),
      [
        ['client.disable', id],
        ['client.create', id],
      ],
    );
    assert.match(entries[0].actor, /^cli/);
  });

  it('registers private_key_jwt and DPoP-bound clients (RFC 7591 / 8705 / 9449 metadata)', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    const publicJwk = { ...(await exportJWK(publicKey)), kid: 'admin-api-key', alg: 'ES256' };
    const created = await call('POST', '/admin/v1/clients', {
      name: 'assertion client',
      auth_method: 'private_key_jwt',
      jwks: { keys: [publicJwk] },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.client_secret, undefined, 'no secret for private_key_jwt');
    assert.deepEqual(created.body.jwks, { keys: [publicJwk] });
    const clientId = created.body.client_id as string;

    const assertion = () =>
      new SignJWT({ jti: randomUUID() })
        .setProtectedHeader({ alg: 'ES256', kid: 'admin-api-key' })
        .setIssuer(clientId)
        .setSubject(clientId)
        .setAudience(tessera.issuer)
        .setIssuedAt()
        .setExpirationTime('60s')
        .sign(privateKey);
    const requestToken = async () =>
      postForm(`${tessera.url}/oauth/token`, {
        grant_type: 'client_credentials',
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: await assertion(),
      });
    assert.equal((await requestToken()).status, 200);

    const bound = await call('PATCH', `/admin/v1/clients/${clientId}`, {
      dpop_bound_access_tokens: true,
    });
    assert.equal(bound.status, 200, JSON.stringify(bound.body));
    assert.equal(bound.body.dpop_bound_access_tokens, true);
    assert.deepEqual(bound.body.jwks, { keys: [publicJwk] }, 'other fields are kept');
    const refused = await requestToken();
    assert.equal(refused.status, 400);
    assert.equal((refused.body as { error: string }).error, 'invalid_request');

    for (const [field, value] of [
      ['jwks', { keys: 'nope' }],
      ['jwks', [publicJwk]],
      ['dpop_bound_access_tokens', 'yes'],
      ['tls_client_auth_subject_dn', 42],
    ] as const) {
      const bad = await call('PATCH', `/admin/v1/clients/${clientId}`, { [field]: value });
      assert.equal(bad.status, 400, field);
      assert.equal(bad.body.error, 'invalid_client_metadata', field);
    }
    const mtls = await call('POST', '/admin/v1/clients', {
      name: 'mtls client',
      auth_method: 'tls_client_auth',
      tls_client_auth_subject_dn: 'CN=partner.example,O=Partner',
    });
    assert.equal(mtls.status, 201, JSON.stringify(mtls.body));
    assert.equal(mtls.body.tls_client_auth_subject_dn, 'CN=partner.example,O=Partner');
  });
});

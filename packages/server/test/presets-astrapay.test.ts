import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import { runCli } from './support/cli.js';
import { importClient } from './support/seed-requests.js';
import { basicAuthorization, postForm, startTessera, type TestTessera } from './support/tessera.js';

// AstraPay's "Client Credentials Flow": no curl, only headers and body fields. Its literal
// sandbox credentials are imported as they are (UUIDs).
const clientId = '3f83b186-9ab7-4cec-8e44-a22c9a6e5e04';
const clientSecret = 'c58cf8f3-e7bc-44b5-85f3-6947e69404f3';
/** The documented body, exactly (no scope). */
const documentedBody = {
  grant_type: 'client_credentials',
  client_id: clientId,
  client_secret: clientSecret,
};

describe('preset astrapay: the documented request against tessera serve --preset astrapay', () => {
  let tessera: TestTessera;
  let url: string;
  before(async () => {
    tessera = await startTessera({ preset: 'astrapay' });
    await importClient(tessera.database, { clientId, clientSecret, scope: 'payments accounts' });
    url = `${tessera.url}/oauth/v1/token`;
  });
  after(() => tessera.close());

  const error = (code: string, description: string) => ({
    error: code,
    error_description: description,
  });

  it('the documented body with a scope answers a Bearer token', async () => {
    const response = await postForm(url, { ...documentedBody, scope: 'payments' });
    assert.equal(response.status, 200, response.text);
    assert.equal(response.headers.get('cache-control'), 'no-store');
    const { access_token: accessToken, ...rest } = response.body as Record<string, unknown>;
    assert.deepEqual(rest, { token_type: 'Bearer', expires_in: 3600, scope: 'payments' });
    const claims = decodeJwt(accessToken as string);
    assert.equal(claims.client_id, clientId);
    assert.equal(claims.scope, 'payments');
  });

  it('"Scope Not Provided Error": the documented body as is (it has no scope)', async () => {
    const response = await postForm(url, documentedBody);
    assert.equal(response.status, 400);
    assert.deepEqual(response.body, error('invalid_request', 'Scope parameter not provided.'));
    const empty = await postForm(url, { ...documentedBody, scope: '' });
    assert.deepEqual(empty.body, error('invalid_request', 'Scope parameter not provided.'));
  });

  it('"Unsupported Grant Type Error": a wrong or missing grant_type', async () => {
    for (const grant of ['authorization_code', undefined]) {
      const { grant_type: _, ...rest } = documentedBody;
      const form = { ...rest, scope: 'payments', ...(grant ? { grant_type: grant } : {}) };
      const response = await postForm(url, form);
      assert.equal(response.status, 400);
      assert.deepEqual(response.body, error('unsupported_grant_type', 'GrantType not supported.'));
    }
  });

  it('"Invalid Credentials Error": wrong, unknown or malformed credentials', async () => {
    const expected = error('invalid_client', 'Invalid credentials format.');
    const wrong = await postForm(url, {
      ...documentedBody,
      client_secret: '00000000-0000-0000-0000-000000000000',
      scope: 'payments',
    });
    assert.deepEqual([wrong.status, wrong.body], [401, expected]);
    const unknown = await postForm(url, { ...documentedBody, client_id: 'x', scope: 'payments' });
    assert.deepEqual([unknown.status, unknown.body], [401, expected]);
    const malformed = await postForm(
      url,
      { grant_type: 'client_credentials', scope: 'payments' },
      { authorization: 'Basic %%%' },
    );
    assert.deepEqual([malformed.status, malformed.body], [401, expected]);
    assert.match(malformed.headers.get('www-authenticate') ?? '', /^Basic /);
    const basic = await postForm(
      url,
      { grant_type: 'client_credentials', scope: 'payments' },
      { authorization: basicAuthorization(clientId, clientSecret) },
    );
    assert.equal(basic.status, 200, basic.text);
  });

  it('"Invalid Scope Error": unauthorized scopes, or scopes not separated by spaces', async () => {
    for (const scope of ['admin', 'payments admin', 'payments,accounts']) {
      const response = await postForm(url, { ...documentedBody, scope });
      assert.equal(response.status, 400);
      assert.deepEqual(
        response.body,
        error('invalid_scope', `Client does not have authorization to request the scope: ${scope}`),
      );
    }
  });

  it('only urlencoded bodies, as documented', async () => {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...documentedBody, scope: 'payments' }),
    });
    assert.equal(response.status, 400);
    assert.deepEqual(
      await response.json(),
      error('invalid_request', 'The request body must be application/x-www-form-urlencoded'),
    );
  });

  it('the RFC endpoint beside it keeps RFC 6749 (scope optional, RFC descriptions)', async () => {
    const ok = await postForm(`${tessera.url}/oauth/token`, documentedBody);
    assert.equal(ok.status, 200, ok.text);
    assert.equal((ok.body as { scope: string }).scope, 'payments accounts');
    const bad = await postForm(`${tessera.url}/oauth/token`, { ...documentedBody, scope: 'admin' });
    assert.deepEqual(
      bad.body,
      error('invalid_scope', 'The client may not request the scope: admin'),
    );
  });

  it('clients create imports UUID credentials; refuses short non-UUID secrets and duplicates', async () => {
    const again = await runCli([
      'clients',
      'create',
      '--name',
      'dup',
      '--client-id',
      clientId,
      '--client-secret',
      clientSecret,
      '--database',
      tessera.database,
    ]);
    assert.equal(again.status, 1);
    assert.match(again.stderr, /already exists/);
    const short = await runCli([
      'clients',
      'create',
      '--name',
      'short',
      '--client-id',
      'other',
      '--client-secret',
      'c58cf8f3-e7bc-44b5-85f3',
      '--database',
      tessera.database,
    ]);
    assert.equal(short.status, 1);
    assert.match(short.stderr, /at least 32 characters or a UUID/);
  });
});

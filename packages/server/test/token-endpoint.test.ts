import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { basicAuthorization, postForm, startTessera, type TestTessera } from './support/tessera.js';

const noStore = { 'cache-control': 'no-store', pragma: 'no-cache' };

function assertHeaders(headers: Headers, expected: Record<string, string | null>) {
  for (const [name, value] of Object.entries(expected))
    assert.equal(headers.get(name), value, `header ${name}`);
}

function assertError(
  result: { status: number; headers: Headers; body: unknown },
  status: number,
  error: string,
  description: string,
  wwwAuthenticate: string | null = null,
) {
  assert.equal(result.status, status);
  assert.deepEqual(result.body, { error, error_description: description });
  assertHeaders(result.headers, {
    ...noStore,
    'www-authenticate': wwwAuthenticate,
    'content-type': 'application/json; charset=utf-8',
  });
}

const basicChallenge = 'Basic realm="tessera", charset="UTF-8"';
const authFailed = 'Client authentication failed';

describe('token endpoint', () => {
  let tessera: TestTessera;
  let tokenUrl: string;
  let client: { clientId: string; clientSecret: string };

  before(async () => {
    tessera = await startTessera();
    tokenUrl = `${tessera.url}/oauth/token`;
    client = await tessera.createClient({
      scope: 'read write',
      audience: ['https://api.example.com', 'https://other.example.com'],
    });
  });
  after(() => tessera.close());

  const basic = () => ({ authorization: basicAuthorization(client.clientId, client.clientSecret) });

  it('issues an RFC 9068 access token with client_secret_basic', async () => {
    const result = await postForm(tokenUrl, { grant_type: 'client_credentials' }, basic());
    assert.equal(result.status, 200);
    assertHeaders(result.headers, {
      ...noStore,
      'content-type': 'application/json; charset=utf-8',
    });
    const body = result.body as Record<string, unknown>;
    assert.deepEqual(Object.keys(body).sort(), [
      'access_token',
      'expires_in',
      'scope',
      'token_type',
    ]);
    assert.equal(body.token_type, 'Bearer');
    assert.equal(body.expires_in, 3600);
    assert.equal(body.scope, 'read write');
    const token = body.access_token as string;
    const header = decodeProtectedHeader(token);
    assert.equal(header.alg, 'RS256');
    assert.equal(header.typ, 'at+jwt');
    assert.equal(typeof header.kid, 'string');
    const claims = decodeJwt(token);
    assert.equal(claims.iss, tessera.issuer);
    assert.equal(claims.sub, client.clientId);
    assert.equal(claims.client_id, client.clientId);
    assert.deepEqual(claims.aud, ['https://api.example.com', 'https://other.example.com']);
    assert.equal(claims.scope, 'read write');
    assert.equal(claims.exp! - claims.iat!, 3600);
    assert.match(claims.jti!, /^[A-Za-z0-9_-]{22,}$/);
    assert.ok(Math.abs(claims.iat! - Date.now() / 1000) < 5);
  });

  it('issues a token with client_secret_post', async () => {
    const result = await postForm(tokenUrl, {
      grant_type: 'client_credentials',
      client_id: client.clientId,
      client_secret: client.clientSecret,
    });
    assert.equal(result.status, 200);
    assert.equal((result.body as { token_type: string }).token_type, 'Bearer');
  });

  it('accepts multipart/form-data (Treezor curl --form)', async () => {
    const form = new FormData();
    form.set('grant_type', 'client_credentials');
    form.set('client_id', client.clientId);
    form.set('client_secret', client.clientSecret);
    form.set('scope', 'read');
    const response = await fetch(tokenUrl, { method: 'POST', body: form });
    assert.equal(response.status, 200);
    assert.equal(((await response.json()) as { scope: string }).scope, 'read');
  });

  it('accepts application/json (Treezor axios)', async () => {
    const response = await fetch(tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        grant_type: 'client_credentials',
        client_id: client.clientId,
        client_secret: client.clientSecret,
      }),
    });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('cache-control'), 'no-store');
  });

  it('decodes form-urlencoded Basic credentials (RFC 6749 §2.3.1)', async () => {
    const id = 'client id+with:odd/chars%';
    const secret = 'secret with spaces+plus:colon%and=equals ÿ-padding-padding';
    await tessera.registry.create({ name: 'odd', clientId: id, clientSecret: secret });
    const result = await postForm(
      tokenUrl,
      { grant_type: 'client_credentials' },
      { authorization: basicAuthorization(id, secret) },
    );
    assert.equal(result.status, 200, result.text);
    assert.equal(decodeJwt((result.body as { access_token: string }).access_token).client_id, id);
  });

  it('grants a requested subset of scopes and names refused ones', async () => {
    const granted = await postForm(
      tokenUrl,
      { grant_type: 'client_credentials', scope: 'write' },
      basic(),
    );
    assert.equal((granted.body as { scope: string }).scope, 'write');
    const refused = await postForm(
      tokenUrl,
      { grant_type: 'client_credentials', scope: 'read admin delete' },
      basic(),
    );
    assertError(
      refused,
      400,
      'invalid_scope',
      'The client may not request the scope: admin delete',
    );
    const malformed = await postForm(
      tokenUrl,
      { grant_type: 'client_credentials', scope: 'read "quoted"' },
      basic(),
    );
    assertError(
      malformed,
      400,
      'invalid_scope',
      'The scope parameter has characters RFC 6749 does not allow',
    );
  });

  it('resolves resource (RFC 8707) and audience against the registered audiences', async () => {
    const one = await postForm(
      tokenUrl,
      { grant_type: 'client_credentials', resource: 'https://other.example.com' },
      basic(),
    );
    assert.equal(
      decodeJwt((one.body as { access_token: string }).access_token).aud,
      'https://other.example.com',
    );
    const viaAudience = await postForm(
      tokenUrl,
      { grant_type: 'client_credentials', audience: 'https://api.example.com' },
      basic(),
    );
    assert.equal(
      decodeJwt((viaAudience.body as { access_token: string }).access_token).aud,
      'https://api.example.com',
    );
    const refused = await postForm(
      tokenUrl,
      { grant_type: 'client_credentials', resource: 'https://evil.example.com' },
      basic(),
    );
    assertError(
      refused,
      400,
      'invalid_target',
      'The client may not request a token for this resource',
    );
    const relative = await postForm(
      tokenUrl,
      { grant_type: 'client_credentials', resource: '/relative' },
      basic(),
    );
    assertError(
      relative,
      400,
      'invalid_target',
      'The resource parameter must be an absolute URI without a fragment',
    );
  });

  it('uses the issuer as audience and the per-client lifetime', async () => {
    const short = await tessera.createClient({ tokenTtl: 120 });
    const result = await postForm(
      tokenUrl,
      { grant_type: 'client_credentials' },
      { authorization: basicAuthorization(short.clientId, short.clientSecret) },
    );
    assert.deepEqual(Object.keys(result.body as object).sort(), [
      'access_token',
      'expires_in',
      'token_type',
    ]);
    assert.equal((result.body as { expires_in: number }).expires_in, 120);
    const claims = decodeJwt((result.body as { access_token: string }).access_token);
    assert.equal(claims.aud, tessera.issuer);
    assert.equal(claims.scope, undefined);
  });

  it('refuses a wrong secret and an unknown client with identical bodies', async () => {
    const wrong = await postForm(
      tokenUrl,
      { grant_type: 'client_credentials' },
      { authorization: basicAuthorization(client.clientId, 'nope') },
    );
    const unknown = await postForm(
      tokenUrl,
      { grant_type: 'client_credentials' },
      { authorization: basicAuthorization('nobody', 'nope') },
    );
    assertError(wrong, 401, 'invalid_client', authFailed, basicChallenge);
    assertError(unknown, 401, 'invalid_client', authFailed, basicChallenge);
    assert.equal(wrong.text, unknown.text);
  });

  it('sends no WWW-Authenticate when the client authenticated in the body', async () => {
    const result = await postForm(tokenUrl, {
      grant_type: 'client_credentials',
      client_id: client.clientId,
      client_secret: 'wrong',
    });
    assertError(result, 401, 'invalid_client', authFailed);
  });

  it('refuses a request without client authentication', async () => {
    assertError(
      await postForm(tokenUrl, { grant_type: 'client_credentials' }),
      401,
      'invalid_client',
      authFailed,
    );
    assertError(
      await postForm(tokenUrl, { grant_type: 'client_credentials', client_id: client.clientId }),
      401,
      'invalid_client',
      authFailed,
    );
  });

  it('refuses malformed Basic credentials and other schemes', async () => {
    for (const authorization of [
      'Basic !!!',
      'Basic ' + btoa('no-colon'),
      'Bearer abc',
      'Basic ' + btoa(':secret'),
      'Basic',
    ]) {
      assertError(
        await postForm(tokenUrl, { grant_type: 'client_credentials' }, { authorization }),
        401,
        'invalid_client',
        authFailed,
        basicChallenge,
      );
    }
  });

  it('refuses two authentication methods at once', async () => {
    const result = await postForm(
      tokenUrl,
      {
        grant_type: 'client_credentials',
        client_id: client.clientId,
        client_secret: client.clientSecret,
      },
      basic(),
    );
    assertError(
      result,
      400,
      'invalid_request',
      'Only one client authentication method may be used per request',
    );
  });

  it('refuses credentials in the query string', async () => {
    const result = await postForm(
      `${tokenUrl}?client_secret=${client.clientSecret}`,
      { grant_type: 'client_credentials' },
      basic(),
    );
    assertError(
      result,
      400,
      'invalid_request',
      'Client credentials must not be sent in the URL query',
    );
    const idOnly = await postForm(
      `${tokenUrl}?client_id=${client.clientId}`,
      { grant_type: 'client_credentials' },
      basic(),
    );
    assertError(
      idOnly,
      400,
      'invalid_request',
      'Client credentials must not be sent in the URL query',
    );
  });

  it('refuses the method a client is not registered for', async () => {
    const basicOnly = await tessera.createClient({ authMethod: 'client_secret_basic' });
    const postOnly = await tessera.createClient({ authMethod: 'client_secret_post' });
    const viaPost = await postForm(tokenUrl, {
      grant_type: 'client_credentials',
      client_id: basicOnly.clientId,
      client_secret: basicOnly.clientSecret,
    });
    assertError(viaPost, 401, 'invalid_client', authFailed);
    const viaBasic = await postForm(
      tokenUrl,
      { grant_type: 'client_credentials' },
      { authorization: basicAuthorization(postOnly.clientId, postOnly.clientSecret) },
    );
    assertError(viaBasic, 401, 'invalid_client', authFailed, basicChallenge);
    const ok = await postForm(
      tokenUrl,
      { grant_type: 'client_credentials' },
      { authorization: basicAuthorization(basicOnly.clientId, basicOnly.clientSecret) },
    );
    assert.equal(ok.status, 200);
  });

  it('checks grant_type: missing, repeated, unknown', async () => {
    assertError(
      await postForm(tokenUrl, {}, basic()),
      400,
      'invalid_request',
      'The grant_type parameter is missing',
    );
    assertError(
      await postForm(
        tokenUrl,
        'grant_type=client_credentials&grant_type=client_credentials',
        basic(),
      ),
      400,
      'invalid_request',
      'Parameter grant_type is included more than once',
    );
    for (const grant of [
      'password',
      'refresh_token',
      'authorization_code',
      'urn:ietf:params:oauth:grant-type:jwt-bearer',
    ]) {
      assertError(
        await postForm(tokenUrl, { grant_type: grant }, basic()),
        400,
        'unsupported_grant_type',
        'Only the client_credentials grant is supported',
      );
    }
  });

  it('refuses any repeated parameter', async () => {
    const result = await postForm(
      tokenUrl,
      'grant_type=client_credentials&scope=read&scope=write',
      basic(),
    );
    assertError(result, 400, 'invalid_request', 'Parameter scope is included more than once');
    const multipart = new FormData();
    multipart.append('grant_type', 'client_credentials');
    multipart.append('client_id', client.clientId);
    multipart.append('client_id', client.clientId);
    const response = await fetch(tokenUrl, { method: 'POST', body: multipart });
    assert.equal(response.status, 400);
    assert.deepEqual(await response.json(), {
      error: 'invalid_request',
      error_description: 'Parameter client_id is included more than once',
    });
  });

  it('refuses a client not allowed to use the grant', async () => {
    const created = await tessera.registry.create({ name: 'no grants', grantTypes: [] });
    const result = await postForm(
      tokenUrl,
      { grant_type: 'client_credentials' },
      { authorization: basicAuthorization(created.client.clientId, created.clientSecret) },
    );
    assertError(
      result,
      400,
      'unauthorized_client',
      'The client is not allowed to use the client_credentials grant',
    );
  });

  it('refuses other content types, bad JSON and oversized bodies', async () => {
    const text = await fetch(tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', ...basic() },
      body: 'grant_type=client_credentials',
    });
    assert.equal(text.status, 400);
    assert.deepEqual(await text.json(), {
      error: 'invalid_request',
      error_description:
        'The request body must be application/x-www-form-urlencoded, multipart/form-data or application/json',
    });
    const json = await fetch(tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"grant_type":',
    });
    assert.deepEqual(
      [json.status, await json.json()],
      [400, { error: 'invalid_request', error_description: 'The request body is not valid JSON' }],
    );
    const nested = await fetch(tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"grant_type":["client_credentials"]}',
    });
    assert.deepEqual(
      [nested.status, await nested.json()],
      [
        400,
        { error: 'invalid_request', error_description: 'Parameter grant_type must be a string' },
      ],
    );
    const big = await postForm(
      tokenUrl,
      `grant_type=client_credentials&pad=${'a'.repeat(20_000)}`,
      basic(),
    );
    assertError(big, 413, 'invalid_request', 'The request body is too large');
  });

  it('answers 405 with Allow for other methods', async () => {
    for (const method of ['GET', 'PUT', 'DELETE', 'PATCH']) {
      const response = await fetch(tokenUrl, { method });
      assert.equal(response.status, 405, method);
      assert.equal(response.headers.get('allow'), 'POST');
      assert.equal(response.headers.get('cache-control'), 'no-store');
      assert.deepEqual(await response.json(), {
        error: 'invalid_request',
        error_description: 'Method not allowed; use POST',
      });
    }
  });

  it('refuses a disabled client and accepts it again once enabled', async () => {
    const c = await tessera.createClient();
    const auth = { authorization: basicAuthorization(c.clientId, c.clientSecret) };
    assert.equal(
      (await postForm(tokenUrl, { grant_type: 'client_credentials' }, auth)).status,
      200,
    );
    await tessera.registry.setStatus(c.clientId, 'disabled');
    tessera.server.context.clients.invalidate(c.clientId);
    assertError(
      await postForm(tokenUrl, { grant_type: 'client_credentials' }, auth),
      401,
      'invalid_client',
      authFailed,
      basicChallenge,
    );
    await tessera.registry.setStatus(c.clientId, 'active');
    tessera.server.context.clients.invalidate(c.clientId);
    assert.equal(
      (await postForm(tokenUrl, { grant_type: 'client_credentials' }, auth)).status,
      200,
    );
  });

  it('issues tokens for a known client without reading the store', async () => {
    await postForm(tokenUrl, { grant_type: 'client_credentials' }, basic());
    const reads = tessera.server.context.clients.storeReads;
    for (let i = 0; i < 20; i++)
      assert.equal(
        (await postForm(tokenUrl, { grant_type: 'client_credentials' }, basic())).status,
        200,
      );
    assert.equal(tessera.server.context.clients.storeReads, reads);
  });

  it('gives every token a distinct jti', async () => {
    const jtis = new Set<string>();
    for (let i = 0; i < 25; i++) {
      const result = await postForm(tokenUrl, { grant_type: 'client_credentials' }, basic());
      jtis.add(decodeJwt((result.body as { access_token: string }).access_token).jti!);
    }
    assert.equal(jtis.size, 25);
  });

  it('echoes a safe X-Request-Id and makes one up otherwise', async () => {
    const given = await fetch(`${tessera.url}/healthz`, {
      headers: { 'x-request-id': 'trace-123' },
    });
    assert.equal(given.headers.get('x-request-id'), 'trace-123');
    const unsafe = await fetch(`${tessera.url}/healthz`, {
      headers: { 'x-request-id': 'bad id\twith tab' },
    });
    assert.match(unsafe.headers.get('x-request-id')!, /^[0-9a-f-]{36}$/);
  });
});

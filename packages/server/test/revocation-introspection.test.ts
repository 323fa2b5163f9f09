import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import { basicAuthorization, postForm, startTessera, type TestTessera } from './support/tessera.js';
import { getToken } from './support/tokens.js';

type Client = { clientId: string; clientSecret: string };
const noStore = { 'cache-control': 'no-store', pragma: 'no-cache' };

describe('revocation (RFC 7009) and introspection (RFC 7662)', () => {
  let tessera: TestTessera;
  let owner: Client;
  let other: Client;
  let introspector: Client;
  before(async () => {
    tessera = await startTessera();
    owner = await tessera.createClient({
      scope: 'read write',
      audience: 'https://api.example.com',
    });
    other = await tessera.createClient({ scope: 'read' });
    introspector = await tessera.createClient({ scope: 'tessera:introspect' });
  });
  after(() => tessera.close());

  const revoke = (client: Client, form: Record<string, string>) =>
    postForm(`${tessera.url}/oauth/revoke`, form, {
      authorization: basicAuthorization(client.clientId, client.clientSecret),
    });
  const introspect = (token: string, client: Client = introspector) =>
    postForm(
      `${tessera.url}/oauth/introspect`,
      { token },
      { authorization: basicAuthorization(client.clientId, client.clientSecret) },
    );

  it('introspects a good token with every RFC 7662 member', async () => {
    const token = await getToken(tessera.url, owner, { scope: 'read' });
    const claims = decodeJwt(token);
    const result = await introspect(token);
    assert.equal(result.status, 200);
    assert.equal(result.headers.get('cache-control'), 'no-store');
    assert.deepEqual(result.body, {
      active: true,
      scope: 'read',
      client_id: owner.clientId,
      sub: owner.clientId,
      aud: 'https://api.example.com',
      iss: tessera.issuer,
      exp: claims.exp,
      iat: claims.iat,
      jti: claims.jti,
      token_type: 'Bearer',
    });
  });

  it('answers {active:false} and nothing else for malformed, tampered and foreign tokens', async () => {
    const token = await getToken(tessera.url, owner);
    const [header, payload, signature] = token.split('.');
    const tampered = `${header}.${Buffer.from(JSON.stringify({ ...decodeJwt(token), scope: 'admin' })).toString('base64url')}.${signature}`;
    const unknownKid = `${Buffer.from(JSON.stringify({ alg: 'RS256', typ: 'at+jwt', kid: 'nope' })).toString('base64url')}.${payload}.${signature}`;
    for (const candidate of ['garbage', 'a.b.c', tampered, unknownKid, `${token}x`]) {
      const result = await introspect(candidate);
      assert.deepEqual([result.status, result.body], [200, { active: false }]);
    }
  });

  it('revokes a token: 200 with an empty body, then inactive at introspection', async () => {
    const token = await getToken(tessera.url, owner);
    const result = await revoke(owner, { token, token_type_hint: 'access_token' });
    assert.equal(result.status, 200);
    assert.equal(result.text, '');
    assert.equal(result.headers.get('cache-control'), noStore['cache-control']);
    assert.deepEqual((await introspect(token)).body, { active: false });
    const again = await revoke(owner, { token });
    assert.deepEqual([again.status, again.text], [200, '']);
  });

  it('answers 200 for unknown, malformed and expired tokens (§2.2)', async () => {
    for (const token of ['not-a-token', 'a.b.c', 'eyJhbGciOiJub25lIn0.e30.']) {
      const result = await revoke(owner, { token });
      assert.deepEqual([result.status, result.text], [200, '']);
    }
  });

  it('lets a client revoke only its own tokens', async () => {
    const token = await getToken(tessera.url, owner);
    const result = await revoke(other, { token });
    assert.equal(result.status, 400);
    assert.deepEqual(result.body, {
      error: 'invalid_request',
      error_description: 'The client may only revoke its own tokens',
    });
    assert.equal((await introspect(token)).body && (await introspect(token)).body !== null, true);
    assert.equal(((await introspect(token)).body as { active: boolean }).active, true);
  });

  it('treats token_type_hint as a hint (RFC 7009 §2.1), and refuses a missing token', async () => {
    // Issue 16: an access token revoked with token_type_hint=refresh_token (or any unknown
    // hint) is found and revoked; the hint never refuses (was unsupported_token_type).
    for (const hint of ['refresh_token', 'urn:example:unknown']) {
      const token = await getToken(tessera.url, owner);
      const result = await revoke(owner, { token, token_type_hint: hint });
      assert.deepEqual([result.status, result.text], [200, ''], hint);
      assert.equal(((await introspect(token)).body as { active: boolean }).active, false, hint);
    }
    const missing = await revoke(owner, {});
    assert.deepEqual(
      [missing.status, missing.body],
      [400, { error: 'invalid_request', error_description: 'The token parameter is missing' }],
    );
  });

  it('authenticates revocation and introspection callers like the token endpoint', async () => {
    const token = await getToken(tessera.url, owner);
    const badRevoke = await postForm(
      `${tessera.url}/oauth/revoke`,
      { token },
      { authorization: basicAuthorization(owner.clientId, 'wrong') },
    );
    assert.deepEqual(
      [badRevoke.status, badRevoke.body],
      [401, { error: 'invalid_client', error_description: 'Client authentication failed' }],
    );
    assert.equal(
      badRevoke.headers.get('www-authenticate'),
      'Basic realm="tessera", charset="UTF-8"',
    );
    const viaPost = await postForm(`${tessera.url}/oauth/introspect`, {
      token,
      client_id: introspector.clientId,
      client_secret: introspector.clientSecret,
    });
    assert.equal((viaPost.body as { active: boolean }).active, true);
    const badIntrospect = await postForm(`${tessera.url}/oauth/introspect`, {
      token,
      client_id: introspector.clientId,
      client_secret: 'x',
    });
    assert.deepEqual(
      [badIntrospect.status, badIntrospect.body],
      [401, { error: 'invalid_client', error_description: 'Client authentication failed' }],
    );
  });

  it('answers 403 to an authenticated client without tessera:introspect', async () => {
    const token = await getToken(tessera.url, owner);
    const result = await introspect(token, owner);
    assert.equal(result.status, 403);
    assert.deepEqual(result.body, {
      error: 'insufficient_scope',
      error_description: 'The client needs the tessera:introspect scope',
    });
  });

  it('reports tokens of disabled and deleted clients as inactive', async () => {
    const short = await tessera.createClient();
    const token = await getToken(tessera.url, short);
    await tessera.registry.setStatus(short.clientId, 'disabled');
    tessera.server.context.clients.invalidate(short.clientId);
    assert.deepEqual((await introspect(token)).body, { active: false });
    await tessera.registry.setStatus(short.clientId, 'active');
    tessera.server.context.clients.invalidate(short.clientId);
    assert.equal(((await introspect(token)).body as { active: boolean }).active, true);
    await tessera.registry.delete(short.clientId);
    tessera.server.context.clients.invalidate(short.clientId);
    assert.deepEqual((await introspect(token)).body, { active: false });
  });

  it('serves the revocation feed from a cursor', async () => {
    const auth = {
      authorization: basicAuthorization(introspector.clientId, introspector.clientSecret),
    };
    const first = await fetch(`${tessera.url}/oauth/revocations`, { headers: auth });
    assert.equal(first.status, 200);
    const all = (await first.json()) as {
      revocations: Array<{ jti: string; exp: number }>;
      cursor: string;
    };
    const token = await getToken(tessera.url, owner);
    await revoke(owner, { token });
    const next = (await (
      await fetch(`${tessera.url}/oauth/revocations?since=${all.cursor}`, { headers: auth })
    ).json()) as typeof all;
    const claims = decodeJwt(token);
    assert.deepEqual(next.revocations, [{ jti: claims.jti, exp: claims.exp }]);
    assert.ok(Number(next.cursor) > Number(all.cursor));
    const none = (await (
      await fetch(`${tessera.url}/oauth/revocations?since=${next.cursor}`, { headers: auth })
    ).json()) as typeof all;
    assert.deepEqual(none, { revocations: [], cursor: next.cursor });
    const forbidden = await fetch(`${tessera.url}/oauth/revocations`, {
      headers: { authorization: basicAuthorization(owner.clientId, owner.clientSecret) },
    });
    assert.equal(forbidden.status, 403);
    const bad = await fetch(`${tessera.url}/oauth/revocations?since=abc`, { headers: auth });
    assert.equal(bad.status, 400);
  });
});

describe('revocations after a restart', () => {
  it('survive, and expire out of the store after the token does', async () => {
    let now = Math.floor(Date.now() / 1000);
    const first = await startTessera({ nowSeconds: () => now });
    const client = await first.createClient({ tokenTtl: 60 });
    const introspector = await first.createClient({ scope: 'tessera:introspect' });
    const token = await getToken(first.url, client);
    await postForm(
      `${first.url}/oauth/revoke`,
      { token },
      { authorization: basicAuthorization(client.clientId, client.clientSecret) },
    );
    await first.server.close();

    const second = await startTessera({ dataDir: first.dataDir, nowSeconds: () => now });
    try {
      const result = await postForm(
        `${second.url}/oauth/introspect`,
        { token },
        { authorization: basicAuthorization(introspector.clientId, introspector.clientSecret) },
      );
      assert.deepEqual(result.body, { active: false });
      assert.equal((await second.server.context.store.listRevocations(0)).length, 1);
      now += 120;
      assert.equal(await second.server.context.store.prune(now, now - 3600), 1);
      assert.equal((await second.server.context.store.listRevocations(0)).length, 0);
    } finally {
      await second.close();
      await first.close();
    }
  });
});

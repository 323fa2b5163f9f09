/**
 * Issue 16: the admin API checks Tessera's tokens as any resource server would, through
 * `@tessera/verifier`: the admin audience (`<issuer>/admin`), sender binding (DPoP), revocation
 * at once and the client's status. Over real HTTP.
 */
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { decodeJwt, exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { httpsRequest, jwtPayload, postFormTls } from './support/https.js';
import { createTestPki, type TestPki } from './support/pki.js';
import { basicAuthorization, postForm, startTessera, type TestTessera } from './support/tessera.js';
import { getToken } from './support/tokens.js';

describe('admin API token checks', () => {
  let tessera: TestTessera;
  let admin: { clientId: string; clientSecret: string };
  let dpopKey: { privateKey: CryptoKey; publicJwk: JWK };
  before(async () => {
    tessera = await startTessera();
    admin = await tessera.createClient({
      scope: 'tessera:admin',
      audience: 'https://api.partner.example',
    });
    const pair = await generateKeyPair('ES256', { extractable: true });
    dpopKey = { privateKey: pair.privateKey, publicJwk: await exportJWK(pair.publicKey) };
  });
  after(() => tessera.close());

  const clientsUrl = () => `${tessera.url}/admin/v1/clients`;
  const list = async (headers: Record<string, string>) => {
    const response = await fetch(clientsUrl(), { headers });
    const text = await response.text();
    return {
      status: response.status,
      challenge: response.headers.get('www-authenticate'),
      body: text ? JSON.parse(text) : undefined,
    };
  };
  const proof = (claims: Record<string, unknown>) =>
    new SignJWT({ jti: randomUUID(), iat: Math.floor(Date.now() / 1000), ...claims })
      .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: dpopKey.publicJwk })
      .sign(dpopKey.privateKey);
  const ath = (token: string) => createHash('sha256').update(token).digest('base64url');

  it('mints admin tokens for <issuer>/admin, and accepts them', async () => {
    const token = await getToken(tessera.url, admin);
    assert.equal(decodeJwt(token).aud, `${tessera.issuer}/admin`);
    assert.equal((await list({ authorization: `Bearer ${token}` })).status, 200);
    const asked = await getToken(tessera.url, admin, { resource: `${tessera.issuer}/admin` });
    assert.equal((await list({ authorization: `Bearer ${asked}` })).status, 200);
  });

  it('refuses an admin-scoped token minted for another audience', async () => {
    const token = await getToken(tessera.url, admin, { resource: 'https://api.partner.example' });
    const claims = decodeJwt(token);
    assert.equal(claims.aud, 'https://api.partner.example');
    assert.equal(claims.scope, 'tessera:admin');
    const answer = await list({ authorization: `Bearer ${token}` });
    assert.equal(answer.status, 401);
    assert.deepEqual(answer.body, {
      error: 'invalid_token',
      error_description: 'The access token is not for the admin API',
    });
    assert.equal(
      answer.challenge,
      'Bearer realm="tessera-admin", error="invalid_token", error_description="The access token is not for the admin API"',
    );
  });

  it('a DPoP-bound admin token needs the DPoP scheme and a proof', async () => {
    const tokenUrl = `${tessera.url}/oauth/token`;
    const issued = await postForm(
      tokenUrl,
      { grant_type: 'client_credentials' },
      {
        authorization: basicAuthorization(admin.clientId, admin.clientSecret),
        dpop: await proof({ htm: 'POST', htu: tokenUrl }),
      },
    );
    assert.equal(issued.status, 200, issued.text);
    const token = (issued.body as { access_token: string; token_type: string }).access_token;
    assert.equal((issued.body as { token_type: string }).token_type, 'DPoP');

    const plain = await list({ authorization: `Bearer ${token}` });
    assert.equal(plain.status, 401, 'a DPoP-bound token sent as Bearer without a proof');
    assert.deepEqual(plain.body, {
      error: 'invalid_token',
      error_description:
        'The access token is DPoP-bound: send it with the DPoP scheme and a valid proof',
    });
    const noProof = await list({ authorization: `DPoP ${token}` });
    assert.equal(noProof.status, 401);
    const wrongUrl = await list({
      authorization: `DPoP ${token}`,
      dpop: await proof({ htm: 'GET', htu: `${tessera.url}/admin/v1/keys`, ath: ath(token) }),
    });
    assert.equal(wrongUrl.status, 401);

    const once = await proof({ htm: 'GET', htu: clientsUrl(), ath: ath(token) });
    const bound = await list({ authorization: `DPoP ${token}`, dpop: once });
    assert.equal(bound.status, 200, JSON.stringify(bound.body));
    assert.ok(Array.isArray(bound.body.clients));
    const replayed = await list({ authorization: `DPoP ${token}`, dpop: once });
    assert.equal(replayed.status, 401, 'a proof is used once');
  });

  it('an unbound token sent with the DPoP scheme is refused', async () => {
    const token = await getToken(tessera.url, admin);
    const answer = await list({
      authorization: `DPoP ${token}`,
      dpop: await proof({ htm: 'GET', htu: clientsUrl(), ath: ath(token) }),
    });
    assert.equal(answer.status, 401);
  });

  it('refuses a revoked token at once', async () => {
    const token = await getToken(tessera.url, admin);
    assert.equal((await list({ authorization: `Bearer ${token}` })).status, 200);
    const revoked = await postForm(
      `${tessera.url}/oauth/revoke`,
      { token },
      { authorization: basicAuthorization(admin.clientId, admin.clientSecret) },
    );
    assert.equal(revoked.status, 200);
    const answer = await list({ authorization: `Bearer ${token}` });
    assert.equal(answer.status, 401);
    assert.deepEqual(answer.body, {
      error: 'invalid_token',
      error_description: 'The access token is not valid',
    });
  });

  it("refuses a disabled client's token, and opens again when it is enabled", async () => {
    const other = await tessera.createClient({ scope: 'tessera:admin' });
    const token = await getToken(tessera.url, other);
    assert.equal((await list({ authorization: `Bearer ${token}` })).status, 200);
    const byAdmin = async (action: string) => {
      const response = await fetch(`${clientsUrl()}/${other.clientId}/${action}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${await getToken(tessera.url, admin)}` },
      });
      assert.equal(response.status, 200);
    };
    await byAdmin('disable');
    const answer = await list({ authorization: `Bearer ${token}` });
    assert.equal(answer.status, 401);
    assert.equal(answer.body.error, 'invalid_token');
    await byAdmin('enable');
    assert.equal((await list({ authorization: `Bearer ${token}` })).status, 200);
  });

  it('a token without tessera:admin still gets 403 insufficient_scope', async () => {
    const plain = await tessera.createClient({ scope: 'read' });
    const answer = await list({ authorization: `Bearer ${await getToken(tessera.url, plain)}` });
    assert.equal(answer.status, 403);
    assert.equal(answer.body.error, 'insufficient_scope');
  });
});

describe('admin API with a certificate-bound token (RFC 8705 cnf.x5t#S256)', () => {
  let pki: TestPki;
  let tessera: TestTessera;
  before(async () => {
    pki = await createTestPki();
    tessera = await startTessera({
      tlsCert: pki.server.certFile,
      tlsKey: pki.server.keyFile,
      tlsClientCa: pki.caFile,
    });
  });
  after(async () => {
    await tessera.close();
    await pki.close();
  });

  it('opens only over a connection with the bound certificate', async () => {
    const admin = await tessera.createClient({ scope: 'tessera:admin' });
    const issued = await postFormTls(
      `${tessera.url}/oauth/token`,
      { grant_type: 'client_credentials' },
      {
        ca: pki.ca,
        headers: { authorization: basicAuthorization(admin.clientId, admin.clientSecret) },
        identity: pki.client,
      },
    );
    assert.equal(issued.status, 200, issued.text);
    const token = (issued.body as { access_token: string }).access_token;
    assert.ok((jwtPayload(token).cnf as Record<string, string>)['x5t#S256']);
    const call = (identity?: { cert: string; key: string }) =>
      httpsRequest(`${tessera.url}/admin/v1/clients`, {
        ca: pki.ca,
        headers: { authorization: `Bearer ${token}` },
        ...(identity ? { identity } : {}),
      });
    assert.equal((await call(pki.client)).status, 200);
    for (const identity of [undefined, pki.otherClient]) {
      const refused = await call(identity);
      assert.equal(refused.status, 401);
      assert.deepEqual(refused.body, {
        error: 'invalid_token',
        error_description:
          'The access token is bound to a client certificate this request did not present',
      });
    }
  });
});

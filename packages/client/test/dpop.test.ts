import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { startTessera, type TestTessera } from '../../server/test/support/tessera.js';
import { createVerifier, type Verifier } from '../../verifier/src/index.js';
import type { InvalidOptionError } from '../src/index.js';
import { createMemoryStore, createTokenClient, type TokenClientOptions } from '../src/index.js';
import { decodeJws, sha256url, testKey, type TestKey } from './fixtures/keys.js';
import { startResourceServer } from './fixtures/resource-server.js';
import { startTokenServer, type TokenServer } from './fixtures/token-server.js';

const api = 'https://api.example.com';

/** RFC 7638 thumbprint, computed here independently of the client's code. */
async function thumbprint(jwk: JsonWebKey): Promise<string> {
  const members: Record<string, string[]> = {
    EC: ['crv', 'kty', 'x', 'y'],
    OKP: ['crv', 'kty', 'x'],
    RSA: ['e', 'kty', 'n'],
  };
  const picked = Object.fromEntries(
    (members[jwk.kty ?? ''] ?? []).map((m) => [m, (jwk as Record<string, unknown>)[m]]),
  );
  return sha256url(JSON.stringify(picked));
}

/** A resource server that checks tokens with @tessera/verifier, DPoP proofs included. */
async function startVerifiedResource(verifier: Verifier) {
  const server = createServer((req: IncomingMessage, res) => {
    const base = `http://${req.headers.host ?? ''}`;
    const headers = new Headers();
    for (const [name, value] of Object.entries(req.headers))
      if (typeof value === 'string') headers.set(name, value);
    req.resume();
    verifier
      .verify({ headers, method: req.method ?? 'GET', url: new URL(req.url ?? '/', base).href })
      .then(
        ({ claims }) => {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ client_id: claims.client_id, cnf: claims.cnf }));
        },
        (error: unknown) => {
          const answer = verifier.errorResponse(error);
          res.writeHead(answer.status, answer.headers);
          res.end(answer.body === undefined ? '' : JSON.stringify(answer.body));
        },
      );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('DPoP against a real Tessera server and a @tessera/verifier resource', () => {
  let tessera: TestTessera;
  let verifier: Verifier;
  let resource: Awaited<ReturnType<typeof startVerifiedResource>>;
  before(async () => {
    tessera = await startTessera();
    verifier = createVerifier({ issuer: tessera.issuer, audience: api });
    resource = await startVerifiedResource(verifier);
  });
  after(async () => {
    await resource.close();
    verifier.close();
    await tessera.close();
  });

  for (const dpopAlg of ['ES256', 'EdDSA'] as const) {
    test(`private_key_jwt + DPoP (${dpopAlg}): a bound token, a fresh proof per request`, async () => {
      const authKey = await testKey('ES256');
      const dpopKey = await testKey(dpopAlg);
      const { client: registered } = await tessera.registry.create({
        name: 'dpop client',
        authMethod: 'private_key_jwt',
        jwks: { keys: [authKey.publicJwk] },
        audiences: [api],
        dpopBound: true,
      });
      const client = createTokenClient({
        issuer: tessera.issuer,
        clientId: registered.clientId,
        authMethod: 'private_key_jwt',
        privateKey: authKey.privateKey,
        audience: api,
        dpop: { privateKey: dpopKey.privateKey, publicKey: dpopKey.publicKey },
      });
      const token = await client.getToken();
      assert.deepEqual(decodeJws(token).payload['cnf'], {
        jkt: await thumbprint(dpopKey.publicJwk),
      });
      // The verifier refuses a replayed proof, so two successes mean two fresh proofs.
      for (const path of ['/orders?page=2#top', '/orders']) {
        const response = await client.fetch(`${resource.url}${path}`);
        assert.equal(response.status, 200, await response.clone().text());
        assert.deepEqual(await response.json(), {
          client_id: registered.clientId,
          cnf: { jkt: await thumbprint(dpopKey.publicJwk) },
        });
      }
      const posted = await client.fetch(`${resource.url}/orders`, {
        method: 'POST',
        body: '{"amount":1}',
      });
      assert.equal(posted.status, 200);
      // The same token as a bearer token is refused: it is bound to the key.
      const bearer = await fetch(`${resource.url}/orders`, {
        headers: { authorization: `Bearer ${token}` },
      });
      assert.equal(bearer.status, 401);
      assert.match(bearer.headers.get('www-authenticate') ?? '', /^DPoP /);
      await client.close();
    });
  }

  test('client_secret_basic + DPoP with a private JWK only; tokens are cached per DPoP key', async () => {
    const registered = await tessera.createClient({ audience: api });
    const store = createMemoryStore();
    const [k1, k2] = [await testKey('ES256'), await testKey('ES256')];
    const options = (key: TestKey): TokenClientOptions => ({
      issuer: tessera.issuer,
      ...registered,
      audience: api,
      store,
      dpop: { privateKey: key.privateJwk },
    });
    const one = createTokenClient(options(k1));
    const two = createTokenClient(options(k2));
    const same = createTokenClient(options(k1));
    const [t1, t2, t3] = [await one.getToken(), await two.getToken(), await same.getToken()];
    assert.notEqual(t1, t2, 'another DPoP key never gets the first key’s token');
    assert.equal(t1, t3, 'the same key shares it through the store');
    assert.equal((await two.fetch(`${resource.url}/x`)).status, 200);
    for (const c of [one, two, same]) await c.close({ revoke: false });
  });
});

describe('DPoP proofs on the wire', () => {
  let server: TokenServer;
  before(async () => {
    server = await startTokenServer();
  });
  after(() => server.close());

  const dpopToken = { body: { access_token: 'dpop-token', token_type: 'DPoP', expires_in: 3600 } };

  test('each proof is fresh: distinct jti, htm/htu of its request, ath of the token', async () => {
    server.push(dpopToken);
    const proofs: { method: string; url: string; proof: string; auth: string }[] = [];
    const resource = await startResourceServer((_token, req) => {
      proofs.push({
        method: req.method ?? '',
        url: req.url ?? '',
        proof: String(req.headers['dpop']),
        auth: String(req.headers.authorization),
      });
      return { status: 200 };
    });
    const key = await testKey('ES256');
    const client = createTokenClient({
      tokenEndpoint: `${server.tokenEndpoint}?tenant=a`,
      clientId: 'cid',
      clientSecret: 'secret',
      dpop: { privateKey: key.privateKey, publicKey: key.publicJwk },
    });
    await client.fetch(`${resource.url}/a?q=1#frag`);
    await client.fetch(`${resource.url}/a?q=1`);
    await client.fetch(new Request(`${resource.url}/b`, { method: 'PUT' }));
    await client.fetchWith({}).call(undefined, `${resource.url}/c`, { method: 'delete' });

    const tokenProof = decodeJws(String(server.posts.at(-1)?.headers['dpop']));
    assert.equal(tokenProof.payload['htm'], 'POST');
    assert.equal(tokenProof.payload['htu'], server.tokenEndpoint);
    assert.equal(tokenProof.payload['ath'], undefined);

    const ath = await sha256url('dpop-token');
    const expected = [
      ['GET', '/a'],
      ['GET', '/a'],
      ['PUT', '/b'],
      ['DELETE', '/c'],
    ];
    assert.equal(proofs.length, 4);
    const jtis = new Set([tokenProof.payload['jti']]);
    for (const [i, { proof, auth }] of proofs.entries()) {
      assert.equal(auth, 'DPoP dpop-token');
      const { header, payload } = decodeJws(proof);
      assert.deepEqual(header, {
        alg: 'ES256',
        typ: 'dpop+jwt',
        jwk: { crv: 'P-256', kty: 'EC', x: key.publicJwk.x, y: key.publicJwk.y },
      });
      assert.equal(payload['htm'], expected[i]?.[0]);
      assert.equal(payload['htu'], `${resource.url}${expected[i]?.[1]}`);
      assert.equal(payload['ath'], ath);
      assert.equal(typeof payload['iat'], 'number');
      jtis.add(payload['jti']);
      // The signature verifies with the key in the header.
      const [h, p, s] = proof.split('.');
      const verifyKey = await crypto.subtle.importKey(
        'jwk',
        header['jwk'] as JsonWebKey,
        { name: 'ECDSA', namedCurve: 'P-256' },
        false,
        ['verify'],
      );
      assert.ok(
        await crypto.subtle.verify(
          { name: 'ECDSA', hash: 'SHA-256' },
          verifyKey,
          Buffer.from(s ?? '', 'base64url'),
          new TextEncoder().encode(`${h}.${p}`),
        ),
      );
    }
    assert.equal(jtis.size, 5);
    await client.close({ revoke: false });
    await resource.close();
  });

  test('DPoP-Nonce: the token endpoint’s and the resource’s use_dpop_nonce are answered once', async () => {
    server.push(
      {
        status: 400,
        body: { error: 'use_dpop_nonce', error_description: 'nonce required' },
        headers: { 'dpop-nonce': 'as-nonce-1' },
      },
      dpopToken,
    );
    const resource = await startResourceServer((_token, req) => {
      const { payload } = decodeJws(String(req.headers['dpop']));
      if (payload['nonce'] === 'rs-nonce-1') return { status: 200 };
      return {
        status: 401,
        headers: {
          'www-authenticate': 'DPoP error="use_dpop_nonce", error_description="nonce"',
          'dpop-nonce': 'rs-nonce-1',
        },
      };
    });
    const key = await testKey('ES256');
    const client = createTokenClient({
      tokenEndpoint: server.tokenEndpoint,
      clientId: 'cid',
      clientSecret: 'secret',
      dpop: { privateKey: key.privateJwk },
    });
    let requests = 0;
    client.on('request', () => requests++);
    const before = server.count;
    await client.getToken();
    assert.equal(server.count - before, 2);
    assert.equal(requests, 1, 'the nonce round is not a retry');
    const proofs = server.posts.slice(-2).map((p) => decodeJws(String(p.headers['dpop'])));
    assert.equal(proofs[0]?.payload['nonce'], undefined);
    assert.equal(proofs[1]?.payload['nonce'], 'as-nonce-1');
    assert.notEqual(proofs[0]?.payload['jti'], proofs[1]?.payload['jti']);

    const response = await client.fetch(`${resource.url}/r`);
    assert.equal(response.status, 200);
    assert.equal((await client.fetch(`${resource.url}/r`)).status, 200);
    await client.close({ revoke: false });
    await resource.close();
  });

  test('a Bearer answer to a DPoP request is used as a bearer token (RFC 9449 §5)', async () => {
    server.push({ body: { access_token: 'plain', token_type: 'Bearer', expires_in: 60 } });
    const headers: IncomingMessage['headers'][] = [];
    const resource = await startResourceServer((_token, req) => {
      headers.push(req.headers);
      return { status: 200 };
    });
    const key = await testKey('ES256');
    const client = createTokenClient({
      tokenEndpoint: server.tokenEndpoint,
      clientId: 'cid',
      clientSecret: 'secret',
      dpop: { privateKey: key.privateJwk },
    });
    await client.fetch(resource.url);
    assert.equal(headers[0]?.authorization, 'Bearer plain');
    assert.equal(headers[0]?.['dpop'], undefined);
    await client.close({ revoke: false });
    await resource.close();
  });

  test('without dpop, a DPoP token_type is an invalid response', async () => {
    server.push(dpopToken);
    const client = createTokenClient({
      tokenEndpoint: server.tokenEndpoint,
      clientId: 'cid',
      clientSecret: 'secret',
    });
    await assert.rejects(client.getToken(), { code: 'invalid_token_response' });
    await client.close({ revoke: false });
  });

  test('a public key that does not match the private key is an option error', async () => {
    const [a, b] = [await testKey('ES256'), await testKey('ES256')];
    const client = createTokenClient({
      tokenEndpoint: server.tokenEndpoint,
      clientId: 'cid',
      clientSecret: 'secret',
      dpop: { privateKey: a.privateKey, publicKey: b.publicKey },
    });
    await assert.rejects(client.getToken(), (e: InvalidOptionError) => {
      assert.equal(e.option, 'dpop.publicKey');
      return true;
    });
    const nonExtractable = createTokenClient({
      tokenEndpoint: server.tokenEndpoint,
      clientId: 'cid',
      clientSecret: 'secret',
      dpop: { privateKey: a.privateKey },
    });
    await assert.rejects(nonExtractable.getToken(), { option: 'dpop.publicKey' });
    assert.throws(
      () =>
        createTokenClient({
          tokenEndpoint: server.tokenEndpoint,
          clientId: 'cid',
          clientSecret: 'secret',
          dpop: { privateKey: a.publicKey },
        }),
      { option: 'dpop.privateKey' },
    );
    await client.close({ revoke: false });
    await nonExtractable.close({ revoke: false });
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { inspect } from 'node:util';
import { startTessera, type TestTessera } from '../../server/test/support/tessera.js';
import { createTokenClient, InvalidOptionError, type TokenEndpointError } from '../src/index.js';
import { decodeJws, testKey, type Alg, type TestKey } from './fixtures/keys.js';
import { startTokenServer } from './fixtures/token-server.js';

const assertionType = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/** Passes requests through, keeping each form body sent to `path`. */
function recordingFetch(path: string) {
  const bodies: URLSearchParams[] = [];
  const impl: typeof fetch = async (input, init) => {
    if (new URL(String(input)).pathname === path && init?.body instanceof URLSearchParams)
      bodies.push(new URLSearchParams(init.body));
    return fetch(input, init);
  };
  return { fetch: impl, bodies };
}

describe('private_key_jwt against a real Tessera server', () => {
  let tessera: TestTessera;
  before(async () => {
    tessera = await startTessera();
  });
  after(() => tessera.close());

  async function register(key: TestKey): Promise<string> {
    const { client } = await tessera.registry.create({
      name: `private_key_jwt ${key.alg}`,
      authMethod: 'private_key_jwt',
      jwks: { keys: [key.publicJwk] },
      scope: 'read write',
    });
    return client.clientId;
  }

  const cases: [Alg, 'CryptoKey' | 'JWK'][] = [
    ['RS256', 'CryptoKey'],
    ['RS256', 'JWK'],
    ['ES256', 'CryptoKey'],
    ['ES256', 'JWK'],
    ['PS256', 'CryptoKey'],
    ['EdDSA', 'JWK'],
  ];
  for (const [alg, form] of cases) {
    test(`getToken with a ${alg} ${form}: a fresh assertion per request, aud = the discovered issuer`, async () => {
      const key = await testKey(alg);
      const clientId = await register(key);
      const recorder = recordingFetch('/oauth/token');
      const client = createTokenClient({
        issuer: tessera.issuer,
        clientId,
        authMethod: 'private_key_jwt',
        privateKey: form === 'JWK' ? key.privateJwk : key.privateKey,
        ...(form === 'CryptoKey' ? { kid: key.kid } : {}),
        scope: 'read',
        fetch: recorder.fetch,
      });
      const [a, b] = await Promise.all([client.getToken(), client.getToken()]);
      assert.equal(a, b);
      assert.equal(decodeJws(a).payload['client_id'], clientId);
      // A second token means a second assertion: Tessera refuses a replayed jti.
      const other = await client.getToken({ scope: 'write' });
      assert.equal(decodeJws(other).payload['scope'], 'write');
      assert.equal(recorder.bodies.length, 2);
      const jtis = new Set<unknown>();
      for (const body of recorder.bodies) {
        assert.equal(body.get('client_id'), clientId);
        assert.equal(body.get('client_assertion_type'), assertionType);
        assert.equal(body.get('client_secret'), null);
        const { header, payload } = decodeJws(body.get('client_assertion') ?? '');
        assert.deepEqual(header, { alg, typ: 'JWT', kid: key.kid });
        assert.equal(payload['iss'], clientId);
        assert.equal(payload['sub'], clientId);
        assert.equal(payload['aud'], tessera.issuer);
        assert.equal(typeof payload['iat'], 'number');
        assert.equal(payload['exp'], (payload['iat'] as number) + 60);
        jtis.add(payload['jti']);
      }
      assert.equal(jtis.size, 2);
      const revoked: boolean[] = [];
      client.on('revoke', (e) => revoked.push(e.ok));
      await client.close(); // revocation authenticates with an assertion too
      assert.deepEqual(revoked, [true, true]);
    });
  }

  test('tokenEndpoint with assertionAudience, no discovery', async () => {
    const key = await testKey('ES256');
    const clientId = await register(key);
    const client = createTokenClient({
      tokenEndpoint: `${tessera.url}/oauth/token`,
      assertionAudience: tessera.issuer,
      clientId,
      authMethod: 'private_key_jwt',
      privateKey: key.privateKey,
    });
    assert.equal(decodeJws(await client.getToken()).payload['client_id'], clientId);
    await client.close({ revoke: false });
  });

  test('a key the server does not know is invalid_client, typed, and not retried', async () => {
    const registered = await testKey('ES256');
    const stranger = await testKey('ES256');
    const clientId = await register(registered);
    const client = createTokenClient({
      issuer: tessera.issuer,
      clientId,
      authMethod: 'private_key_jwt',
      privateKey: stranger.privateJwk,
    });
    let requests = 0;
    client.on('request', () => requests++);
    await assert.rejects(client.getToken(), (e: TokenEndpointError) => {
      assert.equal(e.error, 'invalid_client');
      assert.equal(e.status, 401);
      return true;
    });
    assert.equal(requests, 1);
    await client.close({ revoke: false });
  });
});

describe('private_key_jwt options and key handling', () => {
  test('refused at creation, naming the option', async () => {
    const key = await testKey('ES256');
    const base = { clientId: 'c', authMethod: 'private_key_jwt' as const };
    const invalid: [string, Parameters<typeof createTokenClient>[0]][] = [
      ['privateKey', { ...base, issuer: 'https://as.example' }],
      ['privateKey', { ...base, issuer: 'https://as.example', privateKey: key.publicKey }],
      ['privateKey', { ...base, issuer: 'https://as.example', privateKey: key.publicJwk }],
      [
        'assertionAudience',
        { ...base, tokenEndpoint: 'https://as.example/token', privateKey: key.privateKey },
      ],
      [
        'clientSecret',
        {
          ...base,
          issuer: 'https://as.example',
          privateKey: key.privateKey,
          clientSecret: 's'.repeat(40),
        },
      ],
      [
        'signingAlg',
        {
          ...base,
          issuer: 'https://as.example',
          privateKey: key.privateKey,
          signingAlg: 'HS256' as never,
        },
      ],
      [
        'privateKey',
        {
          clientId: 'c',
          clientSecret: 's',
          issuer: 'https://as.example',
          privateKey: key.privateKey,
        },
      ],
    ];
    for (const [option, options] of invalid) {
      assert.throws(
        () => createTokenClient(options),
        (e: InvalidOptionError) => {
          assert.ok(e instanceof InvalidOptionError);
          assert.equal(e.option, option, e.message);
          return true;
        },
      );
    }
  });

  test('a key that does not fit the algorithm fails the call with invalid_option, unretried', async () => {
    const server = await startTokenServer();
    const key = await testKey('ES256');
    const client = createTokenClient({
      tokenEndpoint: server.tokenEndpoint,
      assertionAudience: server.url,
      clientId: 'c',
      authMethod: 'private_key_jwt',
      privateKey: key.privateKey,
      signingAlg: 'RS256',
    });
    await assert.rejects(client.getToken(), (e: InvalidOptionError) => {
      assert.equal(e.code, 'invalid_option');
      assert.equal(e.option, 'privateKey');
      return true;
    });
    assert.equal(server.count, 0);
    await client.close({ revoke: false });
    await server.close();
  });

  test('neither the key nor an assertion reaches errors, events or inspect, even when echoed', async () => {
    const server = await startTokenServer();
    const key = await testKey('ES256');
    const client = createTokenClient({
      tokenEndpoint: server.tokenEndpoint,
      revocationEndpoint: `${server.url}/revoke`,
      assertionAudience: server.url,
      clientId: 'cid',
      authMethod: 'private_key_jwt',
      privateKey: key.privateJwk,
      negativeCache: false,
      retry: { maxRetries: 0 },
    });
    const seen: unknown[] = [];
    for (const name of ['request', 'token', 'error', 'retry', 'revoke'] as const)
      client.on(name, (e) => seen.push(e));
    server.push({ status: 401, echoRequest: true });
    const error = await client.getToken().catch((e: unknown) => e);
    seen.push(error);
    await client.getToken();
    const assertion = new URLSearchParams(server.posts[0]?.body).get('client_assertion') ?? '';
    assert.ok(assertion.length > 100);
    const secrets = [key.privateJwk.d ?? '', assertion];
    for (const value of [...seen, client]) {
      const texts = [
        inspect(value, { depth: Infinity, showHidden: true }),
        JSON.stringify(value, (_k, v: unknown) =>
          v instanceof Error ? { ...v, message: v.message, cause: v.cause } : v,
        ),
      ];
      for (const text of texts)
        for (const s of secrets) assert.ok(!text.includes(s), `leaks key material: ${text}`);
    }
    assert.match(inspect(error, { depth: Infinity }), /\[REDACTED\]/);
    await client.close({ revoke: false });
    await server.close();
  });
});

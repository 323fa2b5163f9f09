import { readFileSync } from 'node:fs';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { decodeProtectedHeader } from 'jose';
import { loadConfig } from '../src/config.js';
import { basicAuthorization, postForm, startTessera, type TestTessera } from './support/tessera.js';

describe('discovery, JWKS and health', () => {
  let tessera: TestTessera;
  before(async () => {
    tessera = await startTessera({ jwksMaxAge: 120 });
  });
  after(() => tessera.close());

  it('publishes RFC 8414 metadata at both well-known paths', async () => {
    const expected = {
      issuer: tessera.issuer,
      token_endpoint: `${tessera.issuer}/oauth/token`,
      jwks_uri: `${tessera.issuer}/.well-known/jwks.json`,
      grant_types_supported: ['client_credentials'],
      response_types_supported: [],
      token_endpoint_auth_methods_supported: [
        'client_secret_basic',
        'client_secret_post',
        'private_key_jwt',
      ],
      token_endpoint_auth_signing_alg_values_supported: ['RS256', 'PS256', 'ES256', 'EdDSA'],
      revocation_endpoint: `${tessera.issuer}/oauth/revoke`,
      revocation_endpoint_auth_methods_supported: [
        'client_secret_basic',
        'client_secret_post',
        'private_key_jwt',
      ],
      // RFC 8414 §2 (issue 16): required since the methods include private_key_jwt.
      revocation_endpoint_auth_signing_alg_values_supported: ['RS256', 'PS256', 'ES256', 'EdDSA'],
      introspection_endpoint: `${tessera.issuer}/oauth/introspect`,
      introspection_endpoint_auth_methods_supported: [
        'client_secret_basic',
        'client_secret_post',
        'private_key_jwt',
      ],
      introspection_endpoint_auth_signing_alg_values_supported: [
        'RS256',
        'PS256',
        'ES256',
        'EdDSA',
      ],
      // RFC 9701 §7 (issue 25).
      introspection_signing_alg_values_supported: ['RS256'],
      access_token_signing_alg_values_supported: ['RS256'],
      dpop_signing_alg_values_supported: ['RS256', 'PS256', 'ES256', 'EdDSA'],
    };
    for (const path of [
      '/.well-known/oauth-authorization-server',
      '/.well-known/openid-configuration',
    ]) {
      const response = await fetch(`${tessera.url}${path}`);
      assert.equal(response.status, 200);
      assert.deepEqual(await response.json(), expected);
    }
  });

  it('serves the JWKS with a cache lifetime and only public key material', async () => {
    const response = await fetch(`${tessera.url}/.well-known/jwks.json`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('cache-control'), 'public, max-age=120');
    assert.equal(response.headers.get('content-type'), 'application/jwk-set+json; charset=utf-8');
    const { keys } = (await response.json()) as { keys: Array<Record<string, string>> };
    assert.equal(keys.length, 1);
    assert.deepEqual(Object.keys(keys[0]!).sort(), ['alg', 'e', 'kid', 'kty', 'n', 'use']);
    assert.equal(keys[0]!.alg, 'RS256');
    assert.equal(keys[0]!.use, 'sig');
  });

  it('answers health and readiness', async () => {
    const health = await fetch(`${tessera.url}/healthz`);
    const version = (
      JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
        version: string;
      }
    ).version;
    assert.deepEqual([health.status, await health.json()], [200, { status: 'ok', version }]);
    const ready = await fetch(`${tessera.url}/readyz`);
    assert.deepEqual(
      [ready.status, await ready.json()],
      [200, { status: 'ready', checks: { store: 'ok', signing_key: 'ok', store_writes: 'ok' } }],
    );
  });

  it('answers unknown paths with a JSON 404', async () => {
    const response = await fetch(`${tessera.url}/nope?secret=x`);
    assert.equal(response.status, 404);
    assert.deepEqual(await response.json(), {
      error: 'not_found',
      error_description: 'No endpoint at GET /nope',
    });
  });
});

describe('restarts', () => {
  it('keep the signing key, the clients and their secrets', async () => {
    const first = await startTessera();
    const client = await first.createClient({ scope: 'read' });
    const jwks = await (await fetch(`${first.url}/.well-known/jwks.json`)).json();
    const before = await postForm(
      `${first.url}/oauth/token`,
      { grant_type: 'client_credentials' },
      { authorization: basicAuthorization(client.clientId, client.clientSecret) },
    );
    await first.server.close();

    const second = await startTessera({ dataDir: first.dataDir });
    try {
      assert.deepEqual(await (await fetch(`${second.url}/.well-known/jwks.json`)).json(), jwks);
      const after = await postForm(
        `${second.url}/oauth/token`,
        { grant_type: 'client_credentials' },
        { authorization: basicAuthorization(client.clientId, client.clientSecret) },
      );
      assert.equal(after.status, 200);
      const kid = (token: unknown) =>
        decodeProtectedHeader((token as { access_token: string }).access_token).kid;
      assert.equal(kid(after.body), kid(before.body));
      assert.equal((after.body as { scope: string }).scope, 'read');
    } finally {
      await second.close();
      await first.close();
    }
  });

  it('refuse to start with a different key-encryption key, naming the problem', async () => {
    const kek = randomBytes(32).toString('base64');
    const first = await startTessera({ env: { TESSERA_KEK: kek } });
    await first.server.close();
    await assert.rejects(
      startTessera({
        dataDir: first.dataDir,
        env: { TESSERA_KEK: randomBytes(32).toString('hex') },
      }),
      /data was encrypted under key-encryption key \S+, but the configured one is \S+/,
    );
    const again = await startTessera({ dataDir: first.dataDir, env: { TESSERA_KEK: kek } });
    await again.close();
    await first.close();
  });
});

describe('configuration', () => {
  it('applies defaults', () => {
    const config = loadConfig({});
    assert.equal(config.port, 8080);
    assert.equal(config.host, '127.0.0.1');
    assert.equal(config.issuer, 'http://localhost:8080');
    assert.match(config.database, /^sqlite:.*\/data\/tessera\.db$/);
    assert.equal(config.signingAlg, 'RS256');
    assert.equal(config.defaultTokenTtl, 3600);
  });

  it('reads the environment', () => {
    const config = loadConfig({
      PORT: '9000',
      HOST: '0.0.0.0',
      TESSERA_ISSUER: 'https://auth.example.com/',
      TESSERA_DATA_DIR: '/tmp/x',
    });
    assert.equal(config.port, 9000);
    assert.equal(config.host, '0.0.0.0');
    assert.equal(config.issuer, 'https://auth.example.com');
    assert.equal(config.database, 'sqlite:/tmp/x/tessera.db');
  });

  it('names the option that is wrong', () => {
    assert.throws(
      () => loadConfig({ PORT: 'eighty' }),
      /PORT must be an integer from 0 to 65535, got "eighty"/,
    );
    assert.throws(
      () => loadConfig({ TESSERA_ISSUER: 'not a url' }),
      /TESSERA_ISSUER must be an http\(s\) URL/,
    );
    assert.throws(
      () => loadConfig({ TESSERA_SIGNING_ALG: 'HS256' }),
      /TESSERA_SIGNING_ALG must be one of RS256, PS256, ES256, EdDSA/,
    );
    assert.throws(
      () => loadConfig({ TESSERA_TOKEN_TTL: '0' }),
      /TESSERA_TOKEN_TTL must be an integer/,
    );
  });
});

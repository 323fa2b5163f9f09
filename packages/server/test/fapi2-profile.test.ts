/**
 * The FAPI 2.0 profile (issue 25) over real HTTPS: for the whole server (`--profile fapi2`)
 * and per client (`profile: 'fapi2'`), each rule allowed and refused.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { connect } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import {
  createLocalJWKSet,
  exportJWK,
  generateKeyPair,
  jwtVerify,
  SignJWT,
  type CryptoKey,
  type JSONWebKeySet,
  type JWK,
} from 'jose';
import { httpsRequest, jwtPayload, postFormTls, type TlsIdentity } from './support/https.js';
import { createTestPki, type TestPki } from './support/pki.js';
import { runCli } from './support/cli.js';
import { getToken } from './support/tokens.js';
import { basicAuthorization, startTessera, type TestTessera } from './support/tessera.js';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const assertionType = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const invalidClient = {
  error: 'invalid_client',
  error_description: 'Client authentication failed',
};
const unbound = {
  error: 'invalid_request',
  error_description:
    'profile fapi2: the token must be sender-constrained: send a DPoP proof (RFC 9449) or use mutual TLS (RFC 8705)',
};
const now = () => Math.floor(Date.now() / 1000);

interface Key {
  privateKey: CryptoKey;
  publicJwk: JWK;
}

async function keyPair(alg: string): Promise<Key> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { privateKey, publicJwk: { ...(await exportJWK(publicKey)), alg, kid: randomUUID() } };
}

/** Token requests against one Tessera over HTTPS. */
function requests(tessera: () => TestTessera, pki: () => TestPki) {
  const tokenUrl = () => `${tessera().url}/oauth/token`;
  const assertion = (clientId: string, key: Key, claims: Record<string, unknown> = {}) =>
    new SignJWT({ jti: randomUUID(), ...claims })
      .setProtectedHeader({ alg: key.publicJwk.alg!, kid: key.publicJwk.kid! })
      .setIssuer(clientId)
      .setSubject(clientId)
      .setAudience((claims.aud as string | undefined) ?? tessera().issuer)
      .setIssuedAt()
      .setExpirationTime(now() + 60)
      .sign(key.privateKey);
  const proof = async (key: Key) => {
    const { alg, kid: _kid, ...jwk } = key.publicJwk;
    return new SignJWT({ jti: randomUUID(), htm: 'POST', htu: tokenUrl(), iat: now() })
      .setProtectedHeader({ alg: alg!, typ: 'dpop+jwt', jwk })
      .sign(key.privateKey);
  };
  const token = (
    form: Record<string, string>,
    options: { headers?: Record<string, string>; identity?: TlsIdentity } = {},
  ) =>
    postFormTls(
      tokenUrl(),
      { grant_type: 'client_credentials', ...form },
      { ca: pki().ca, ...options },
    );
  const withAssertion = (jwt: string, headers: Record<string, string> = {}) =>
    token({ client_assertion_type: assertionType, client_assertion: jwt }, { headers });
  return { assertion, proof, token, withAssertion };
}

describe('FAPI 2.0 profile over HTTPS', () => {
  let pki: TestPki;
  before(async () => {
    pki = await createTestPki();
  });
  after(() => pki.close());

  describe('for the whole server (--profile fapi2)', () => {
    let tessera: TestTessera;
    let es256: Key;
    let rs256: Key;
    let dpopKey: Key;
    let jwtClient: string;
    let rsaClient: string;
    let longClient: string;
    let mtlsClient: string;
    let secretClient: { clientId: string; clientSecret: string };
    const { assertion, proof, token, withAssertion } = requests(
      () => tessera,
      () => pki,
    );

    before(async () => {
      tessera = await startTessera({
        tlsCert: pki.server.certFile,
        tlsKey: pki.server.keyFile,
        tlsClientCa: pki.caFile,
        profile: 'fapi2',
        // The profile's exact-issuer audience wins over a laxer server setting.
        assertionAudience: 'any',
        authFailureLimits: { perClient: 1000, perAddress: 1000, windowSeconds: 60, lockSeconds: 1 },
      });
      [es256, rs256, dpopKey] = await Promise.all([
        keyPair('ES256'),
        keyPair('RS256'),
        keyPair('ES256'),
      ]);
      const create = async (input: Parameters<TestTessera['registry']['create']>[0]) =>
        (await tessera.registry.create(input)).client.clientId;
      jwtClient = await create({
        name: 'fapi jwt',
        authMethod: 'private_key_jwt',
        jwks: { keys: [es256.publicJwk] },
      });
      rsaClient = await create({
        name: 'rs256 jwt',
        authMethod: 'private_key_jwt',
        jwks: { keys: [rs256.publicJwk] },
      });
      longClient = await create({
        name: 'long ttl',
        authMethod: 'private_key_jwt',
        jwks: { keys: [es256.publicJwk] },
        tokenTtl: 3600,
      });
      mtlsClient = await create({
        name: 'fapi mtls',
        authMethod: 'tls_client_auth',
        tlsSubjectDn: 'CN=payments-client,O=Acme',
      });
      secretClient = await tessera.createClient();
    });
    after(() => tessera.close());

    it('refuses a client secret, even the right one', async () => {
      const response = await token(
        {},
        {
          headers: {
            authorization: basicAuthorization(secretClient.clientId, secretClient.clientSecret),
            dpop: await proof(dpopKey),
          },
        },
      );
      assert.equal(response.status, 401);
      assert.deepEqual(response.body, invalidClient);
    });

    it('refuses an unbound token request, and issues PS256 DPoP-bound tokens of at most 600 s', async () => {
      const bare = await withAssertion(await assertion(jwtClient, es256));
      assert.equal(bare.status, 400);
      assert.deepEqual(bare.body, unbound);
      const bound = await withAssertion(await assertion(jwtClient, es256), {
        dpop: await proof(dpopKey),
      });
      assert.equal(bound.status, 200, bound.text);
      const body = bound.body as { access_token: string; token_type: string; expires_in: number };
      assert.equal(body.token_type, 'DPoP');
      assert.equal(body.expires_in, 600);
      const jwks = await httpsRequest(`${tessera.url}/.well-known/jwks.json`, { ca: pki.ca });
      const { payload, protectedHeader } = await jwtVerify(
        body.access_token,
        createLocalJWKSet(jwks.body as JSONWebKeySet),
        { issuer: tessera.issuer, algorithms: ['PS256'] },
      );
      assert.equal(protectedHeader.alg, 'PS256');
      assert.equal(typeof (payload.cnf as { jkt?: unknown }).jkt, 'string');
      assert.ok(payload.exp! - payload.iat! <= 600);
    });

    it('shortens a longer client token_ttl to --fapi-max-token-lifetime', async () => {
      const response = await withAssertion(await assertion(longClient, es256), {
        dpop: await proof(dpopKey),
      });
      assert.equal(response.status, 200, response.text);
      assert.equal((response.body as { expires_in: number }).expires_in, 600);
    });

    it('refuses RS256 assertions and RS256 DPoP proofs', async () => {
      const rsaAssertion = await withAssertion(await assertion(rsaClient, rs256), {
        dpop: await proof(dpopKey),
      });
      assert.equal(rsaAssertion.status, 401);
      assert.deepEqual(rsaAssertion.body, invalidClient);
      const rsaProof = await withAssertion(await assertion(jwtClient, es256), {
        dpop: await proof(await keyPair('RS256')),
      });
      assert.equal(rsaProof.status, 400);
      assert.deepEqual(rsaProof.body, {
        error: 'invalid_dpop_proof',
        error_description: 'The DPoP proof is invalid',
      });
    });

    it('refuses an assertion whose aud is not exactly the issuer', async () => {
      for (const aud of [`${tessera.issuer}/oauth/token`, [tessera.issuer]]) {
        const response = await withAssertion(
          await assertion(jwtClient, es256, { aud: aud as string }),
          { dpop: await proof(dpopKey) },
        );
        assert.equal(response.status, 401, JSON.stringify(aud));
        assert.equal((response.body as { error: string }).error, 'invalid_client');
      }
    });

    it('accepts mTLS clients, whose tokens are certificate-bound', async () => {
      const response = await token({ client_id: mtlsClient }, { identity: pki.client });
      assert.equal(response.status, 200, response.text);
      const claims = jwtPayload((response.body as { access_token: string }).access_token);
      assert.equal(typeof (claims.cnf as Record<string, unknown>)['x5t#S256'], 'string');
    });

    it('advertises the reduced sets in discovery', async () => {
      const { body } = await httpsRequest(`${tessera.url}/.well-known/oauth-authorization-server`, {
        ca: pki.ca,
      });
      const metadata = body as Record<string, unknown>;
      const fapi = ['PS256', 'ES256', 'EdDSA'];
      assert.deepEqual(metadata.token_endpoint_auth_methods_supported, [
        'private_key_jwt',
        'tls_client_auth',
        'self_signed_tls_client_auth',
      ]);
      assert.deepEqual(metadata.token_endpoint_auth_signing_alg_values_supported, fapi);
      assert.deepEqual(metadata.revocation_endpoint_auth_methods_supported, ['private_key_jwt']);
      assert.deepEqual(metadata.introspection_endpoint_auth_methods_supported, ['private_key_jwt']);
      assert.deepEqual(metadata.dpop_signing_alg_values_supported, fapi);
      assert.deepEqual(metadata.access_token_signing_alg_values_supported, ['PS256']);
      assert.equal(metadata.tls_client_certificate_bound_access_tokens, true);
    });

    it('offers TLS 1.2+ with RFC 9325 §4.2 suites only', async () => {
      const { port } = new URL(tessera.url);
      const handshake = (options: Record<string, unknown>) =>
        new Promise<string>((resolve) => {
          const socket = connect({
            host: '127.0.0.1',
            port: Number(port),
            ca: pki.ca,
            servername: 'localhost',
            ...options,
          });
          socket.once('secureConnect', () => {
            resolve(`${socket.getProtocol()} ${socket.getCipher().name}`);
            socket.end();
          });
          socket.once('error', () => resolve('refused'));
        });
      assert.equal(
        await handshake({
          minVersion: 'TLSv1',
          maxVersion: 'TLSv1.1',
          ciphers: 'DEFAULT@SECLEVEL=0',
        }),
        'refused',
      );
      assert.equal(
        await handshake({
          maxVersion: 'TLSv1.2',
          ciphers: 'ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:AES128-SHA',
        }),
        'refused',
      );
      assert.match(
        await handshake({ maxVersion: 'TLSv1.2' }),
        /^TLSv1\.2 ECDHE-(ECDSA|RSA)-(AES(128|256)-GCM-SHA(256|384)|CHACHA20-POLY1305)$/,
      );
      assert.match(await handshake({}), /^TLSv1\.3 TLS_/);
    });

    it('refuses to start with --signing-alg RS256, naming the setting', async () => {
      await assert.rejects(startTessera({ profile: 'fapi2', signingAlg: 'RS256' }), {
        name: 'ConfigError',
        message:
          'TESSERA_SIGNING_ALG (--signing-alg) RS256 is not allowed with TESSERA_PROFILE (--profile) fapi2: FAPI 2.0 allows PS256, ES256 or EdDSA',
      });
    });
  });

  describe('per client (profile: fapi2)', () => {
    let tessera: TestTessera;
    let es256: Key;
    let dpopKey: Key;
    let fapiClient: string;
    let plainJwtClient: string;
    const { assertion, proof, withAssertion } = requests(
      () => tessera,
      () => pki,
    );

    before(async () => {
      tessera = await startTessera({
        tlsCert: pki.server.certFile,
        tlsKey: pki.server.keyFile,
        signingAlg: 'ES256',
      });
      [es256, dpopKey] = await Promise.all([keyPair('ES256'), keyPair('ES256')]);
      fapiClient = (
        await tessera.registry.create({
          name: 'fapi client',
          authMethod: 'private_key_jwt',
          jwks: { keys: [es256.publicJwk] },
          profile: 'fapi2',
        })
      ).client.clientId;
      plainJwtClient = (
        await tessera.registry.create({
          name: 'plain client',
          authMethod: 'private_key_jwt',
          jwks: { keys: [es256.publicJwk] },
        })
      ).client.clientId;
    });
    after(() => tessera.close());

    it('holds only that client to the profile', async () => {
      const bare = await withAssertion(await assertion(fapiClient, es256));
      assert.equal(bare.status, 400);
      assert.deepEqual(bare.body, unbound);
      const bound = await withAssertion(await assertion(fapiClient, es256), {
        dpop: await proof(dpopKey),
      });
      assert.equal(bound.status, 200, bound.text);
      assert.equal((bound.body as { expires_in: number }).expires_in, 600);
      const plain = await withAssertion(await assertion(plainJwtClient, es256));
      assert.equal(plain.status, 200, plain.text);
      assert.equal((plain.body as { expires_in: number }).expires_in, 3600);
    });

    it('cannot register or update a client into the profile that does not meet it', async () => {
      const refusals: Array<[Parameters<TestTessera['registry']['create']>[0], string]> = [
        [
          { name: 'x', authMethod: 'client_secret_basic', profile: 'fapi2' },
          'profile fapi2 needs auth_method private_key_jwt, tls_client_auth or self_signed_tls_client_auth, not client_secret_basic',
        ],
        [
          {
            name: 'x',
            authMethod: 'private_key_jwt',
            jwks: { keys: [(await keyPair('RS256')).publicJwk] },
            profile: 'fapi2',
          },
          'profile fapi2 allows PS256, ES256 or EdDSA keys, not RS256',
        ],
        [
          {
            name: 'x',
            authMethod: 'private_key_jwt',
            jwks: { keys: [es256.publicJwk] },
            tokenTtl: 3600,
            profile: 'fapi2',
          },
          'profile fapi2 allows a token_ttl of at most 600 seconds (--fapi-max-token-lifetime)',
        ],
        [{ name: 'x', profile: 'fapi1' }, 'profile must be fapi2 or none, got "fapi1"'],
      ];
      for (const [input, message] of refusals)
        await assert.rejects(tessera.registry.create(input), { name: 'RegistryError', message });
      const { clientId } = await tessera.createClient();
      await assert.rejects(tessera.registry.update(clientId, { profile: 'fapi2' }), {
        message:
          'profile fapi2 needs auth_method private_key_jwt, tls_client_auth or self_signed_tls_client_auth, not any',
      });
      await assert.rejects(tessera.registry.update(fapiClient, { tokenTtl: 3600 }), {
        message:
          'profile fapi2 allows a token_ttl of at most 600 seconds (--fapi-max-token-lifetime)',
      });
      const released = await tessera.registry.update(plainJwtClient, { profile: 'fapi2' });
      assert.equal(released.profile, 'fapi2');
      assert.equal(
        (await tessera.registry.update(plainJwtClient, { profile: 'none' })).profile,
        undefined,
      );
    });

    it('is set and refused through the admin API the same way', async () => {
      const plain = await startTessera();
      try {
        const admin = await plain.createClient({ scope: 'tessera:admin' });
        const adminToken = await getToken(plain.url, admin);
        const call = async (method: string, path: string, body: unknown) => {
          const response = await fetch(`${plain.url}${path}`, {
            method,
            headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
            body: JSON.stringify(body),
          });
          return {
            status: response.status,
            body: (await response.json()) as Record<string, unknown>,
          };
        };
        const created = await call('POST', '/admin/v1/clients', {
          name: 'admin fapi',
          auth_method: 'private_key_jwt',
          jwks: { keys: [es256.publicJwk] },
          profile: 'fapi2',
        });
        assert.equal(created.status, 201, JSON.stringify(created.body));
        assert.equal(created.body.profile, 'fapi2');
        const weakened = await call(
          'PATCH',
          `/admin/v1/clients/${String(created.body.client_id)}`,
          {
            auth_method: 'any',
          },
        );
        assert.equal(weakened.status, 400);
        assert.deepEqual(weakened.body, {
          error: 'invalid_client_metadata',
          error_description:
            'profile fapi2 needs auth_method private_key_jwt, tls_client_auth or self_signed_tls_client_auth, not any',
        });
        const released = await call(
          'PATCH',
          `/admin/v1/clients/${String(created.body.client_id)}`,
          {
            profile: null,
          },
        );
        assert.equal(released.status, 200, JSON.stringify(released.body));
        assert.equal(released.body.profile, undefined);
      } finally {
        await plain.close();
      }
    });

    it('is set by clients create|update --profile and shown by clients show --json', async () => {
      const jwksFile = join(tessera.dataDir, 'fapi.jwks.json');
      await writeFile(jwksFile, JSON.stringify({ keys: [es256.publicJwk] }));
      const database = ['--database', tessera.database];
      const created = await runCli([
        ...['clients', 'create', '--name', 'cli fapi', '--auth-method', 'private_key_jwt'],
        ...['--jwks-file', jwksFile, '--profile', 'fapi2', '--json', ...database],
      ]);
      assert.equal(created.status, 0, created.stderr);
      const { client_id: clientId, profile } = JSON.parse(created.stdout) as Record<string, string>;
      assert.equal(profile, 'fapi2');
      const refused = await runCli([
        ...['clients', 'create', '--name', 'cli secret', '--profile', 'fapi2', ...database],
      ]);
      assert.equal(refused.status, 1);
      assert.equal(
        refused.stderr,
        'tessera: profile fapi2 needs auth_method private_key_jwt, tls_client_auth or self_signed_tls_client_auth, not any\n',
      );
      const released = await runCli([
        'clients',
        'update',
        clientId!,
        '--profile',
        'none',
        '--json',
        ...database,
      ]);
      assert.equal(released.status, 0, released.stderr);
      assert.equal((JSON.parse(released.stdout) as { profile?: string }).profile, undefined);
      const again = await runCli([
        'clients',
        'update',
        clientId!,
        '--profile',
        'fapi2',
        ...database,
      ]);
      assert.equal(again.status, 0, again.stderr);
      const shown = await runCli(['clients', 'show', clientId!, '--json', ...database]);
      assert.equal((JSON.parse(shown.stdout) as { profile?: string }).profile, 'fapi2');
    });
  });
});

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import {
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  SignJWT,
  type CryptoKey,
  type JWK,
} from 'jose';
import { jwtPayload, postFormTls } from './support/https.js';
import { createTestPki, type TestPki } from './support/pki.js';
import { basicAuthorization, startTessera, type TestTessera } from './support/tessera.js';

const assertionType = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const invalidClient = {
  error: 'invalid_client',
  error_description: 'Client authentication failed',
};
const invalidProof = {
  error: 'invalid_dpop_proof',
  error_description: 'The DPoP proof is invalid',
};
const now = () => Math.floor(Date.now() / 1000);

async function keyPair(alg: string) {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), alg, kid: randomUUID() };
  return { privateKey, publicJwk };
}

describe('private_key_jwt (RFC 7523) and DPoP (RFC 9449) over HTTPS', () => {
  let pki: TestPki;
  let tessera: TestTessera;
  let tokenUrl: string;
  let jwksServer: Server;
  let es256: Awaited<ReturnType<typeof keyPair>>;
  let inlineClient: string;
  let uriClient: string;

  before(async () => {
    pki = await createTestPki();
    tessera = await startTessera({
      tlsCert: pki.server.certFile,
      tlsKey: pki.server.keyFile,
      // Many deliberate failures per client here; brute-force protection has its own suite.
      authFailureLimits: { perClient: 1000, perAddress: 1000, windowSeconds: 60, lockSeconds: 1 },
    });
    tokenUrl = `${tessera.url}/oauth/token`;
    es256 = await keyPair('ES256');
    inlineClient = (
      await tessera.registry.create({
        name: 'inline jwks',
        authMethod: 'private_key_jwt',
        jwks: { keys: [es256.publicJwk] },
      })
    ).client.clientId;
    const ps256 = await keyPair('PS256');
    jwksServer = createServer((_request, response) => {
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify({ keys: [ps256.publicJwk] }));
    });
    await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
    const address = jwksServer.address() as { port: number };
    uriClient = (
      await tessera.registry.create({
        name: 'jwks_uri',
        authMethod: 'private_key_jwt',
        jwksUri: `http://127.0.0.1:${address.port}/jwks.json`,
      })
    ).client.clientId;
    uriKey = ps256;
  });
  let uriKey: Awaited<ReturnType<typeof keyPair>>;
  after(async () => {
    await tessera.close();
    await new Promise((resolve) => jwksServer.close(resolve));
    await pki.close();
  });

  const assertion = (
    clientId: string,
    key: { privateKey: CryptoKey; publicJwk: JWK },
    claims: Record<string, unknown> = {},
    options: { exp?: number | null } = {},
  ) => {
    const jwt = new SignJWT({ jti: randomUUID(), ...claims })
      .setProtectedHeader({ alg: key.publicJwk.alg!, kid: key.publicJwk.kid! })
      .setIssuer(clientId)
      .setSubject(clientId)
      .setAudience((claims.aud as string | undefined) ?? tessera.issuer)
      .setIssuedAt();
    if (options.exp !== null) jwt.setExpirationTime(options.exp ?? now() + 60);
    return jwt.sign(key.privateKey);
  };

  const token = (form: Record<string, string>, headers: Record<string, string> = {}) =>
    postFormTls(tokenUrl, { grant_type: 'client_credentials', ...form }, { ca: pki.ca, headers });

  const withAssertion = (jwt: string, extra: Record<string, string> = {}) =>
    token({ client_assertion_type: assertionType, client_assertion: jwt, ...extra });

  describe('private_key_jwt', () => {
    it('authenticates with a key from an inline JWKS', async () => {
      const response = await withAssertion(await assertion(inlineClient, es256));
      assert.equal(response.status, 200, response.text);
      const claims = jwtPayload((response.body as { access_token: string }).access_token);
      assert.equal(claims.client_id, inlineClient);
      assert.equal(claims.cnf, undefined);
    });

    it('authenticates with a key fetched from jwks_uri', async () => {
      const response = await withAssertion(await assertion(uriClient, uriKey), {
        client_id: uriClient,
      });
      assert.equal(response.status, 200, response.text);
    });

    it('refuses an expired assertion', async () => {
      const response = await withAssertion(
        await assertion(inlineClient, es256, { iat: now() - 600 }, { exp: now() - 120 }),
      );
      assert.equal(response.status, 401);
      assert.deepEqual(response.body, invalidClient);
    });

    it('refuses an assertion without exp, or valid for longer than 5 minutes', async () => {
      for (const exp of [null, now() + 900]) {
        const response = await withAssertion(await assertion(inlineClient, es256, {}, { exp }));
        assert.equal(response.status, 401);
        // Issue 16: past the signature check, the reason reaches error_description.
        assert.deepEqual(
          response.body,
          exp === null
            ? invalidClient
            : {
                error: 'invalid_client',
                error_description:
                  'Client authentication failed: client_assertion exp may be at most 300 seconds away',
              },
        );
      }
    });

    it('refuses an aud other than the issuer exactly', async () => {
      for (const aud of [tokenUrl, `${tessera.issuer}/`, 'https://elsewhere.example']) {
        const response = await withAssertion(await assertion(inlineClient, es256, { aud }));
        assert.equal(response.status, 401, aud);
        assert.deepEqual(response.body, {
          error: 'invalid_client',
          error_description: `Client authentication failed: client_assertion aud must be the issuer (${tessera.issuer}) as a single string`,
        });
      }
      const asArray = await new SignJWT({ jti: randomUUID(), aud: [tessera.issuer, 'x'] })
        .setProtectedHeader({ alg: 'ES256' })
        .setIssuer(inlineClient)
        .setSubject(inlineClient)
        .setExpirationTime(now() + 60)
        .sign(es256.privateKey);
      assert.equal((await withAssertion(asArray)).status, 401);
    });

    it('refuses a replayed jti', async () => {
      const jwt = await assertion(inlineClient, es256);
      assert.equal((await withAssertion(jwt)).status, 200);
      const replay = await withAssertion(jwt);
      assert.equal(replay.status, 401);
      assert.deepEqual(replay.body, invalidClient);
    });

    it('refuses another key, an algorithm off the allowlist and iss ≠ sub', async () => {
      const stranger = await keyPair('ES256');
      assert.equal((await withAssertion(await assertion(inlineClient, stranger))).status, 401);
      const hs = await new SignJWT({ jti: randomUUID() })
        .setProtectedHeader({ alg: 'HS256' })
        .setIssuer(inlineClient)
        .setSubject(inlineClient)
        .setAudience(tessera.issuer)
        .setExpirationTime(now() + 60)
        .sign(new TextEncoder().encode('x'.repeat(32)));
      assert.equal((await withAssertion(hs)).status, 401);
      const mixed = await new SignJWT({ jti: randomUUID() })
        .setProtectedHeader({ alg: 'ES256' })
        .setIssuer(uriClient)
        .setSubject(inlineClient)
        .setAudience(tessera.issuer)
        .setExpirationTime(now() + 60)
        .sign(es256.privateKey);
      assert.equal((await withAssertion(mixed)).status, 401);
    });

    it('refuses a secret client’s assertion and a private_key_jwt client’s secret', async () => {
      const secretClient = await tessera.createClient();
      assert.equal(
        (await withAssertion(await assertion(secretClient.clientId, es256))).status,
        401,
      );
      const secret = await token({ client_id: inlineClient, client_secret: 'y'.repeat(43) });
      assert.equal(secret.status, 401);
      assert.deepEqual(secret.body, invalidClient);
    });

    it('refuses two authentication methods in one request', async () => {
      const response = await withAssertion(await assertion(inlineClient, es256), {});
      assert.equal(response.status, 200);
      const both = await token(
        {
          client_assertion_type: assertionType,
          client_assertion: await assertion(inlineClient, es256),
        },
        { authorization: basicAuthorization(inlineClient, 'z'.repeat(43)) },
      );
      assert.equal(both.status, 400);
      assert.equal((both.body as { error: string }).error, 'invalid_request');
    });
  });

  describe('DPoP at the token endpoint', () => {
    let dpopKey: Awaited<ReturnType<typeof keyPair>>;
    let client: { clientId: string; clientSecret: string };
    before(async () => {
      dpopKey = await keyPair('ES256');
      client = await tessera.createClient();
    });

    const proof = (claims: Record<string, unknown> = {}, key = dpopKey) =>
      new SignJWT({ jti: randomUUID(), htm: 'POST', htu: tokenUrl, iat: now(), ...claims })
        .setProtectedHeader({
          alg: 'ES256',
          typ: 'dpop+jwt',
          jwk: {
            kty: key.publicJwk.kty!,
            crv: key.publicJwk.crv!,
            x: key.publicJwk.x!,
            y: key.publicJwk.y!,
          },
        })
        .sign(key.privateKey);

    const secretAuth = () => ({
      authorization: basicAuthorization(client.clientId, client.clientSecret),
    });

    it('issues a DPoP token bound to the proof key', async () => {
      const response = await token({}, { ...secretAuth(), dpop: await proof() });
      assert.equal(response.status, 200, response.text);
      const body = response.body as { access_token: string; token_type: string };
      assert.equal(body.token_type, 'DPoP');
      assert.deepEqual(jwtPayload(body.access_token).cnf, {
        jkt: await calculateJwkThumbprint(dpopKey.publicJwk),
      });
    });

    it('refuses a proof with the wrong htm, htu or iat, or a replayed one', async () => {
      for (const claims of [
        { htm: 'GET' },
        { htu: `${tessera.issuer}/oauth/revoke` },
        { htu: 'https://elsewhere.example/oauth/token' },
        { iat: now() - 3600 },
        { iat: now() + 3600 },
      ]) {
        const response = await token({}, { ...secretAuth(), dpop: await proof(claims) });
        assert.equal(response.status, 400, JSON.stringify(claims));
        assert.deepEqual(response.body, invalidProof);
        assert.equal(response.headers['cache-control'], 'no-store');
      }
      const once = await proof();
      assert.equal((await token({}, { ...secretAuth(), dpop: once })).status, 200);
      const replay = await token({}, { ...secretAuth(), dpop: once });
      assert.equal(replay.status, 400);
      assert.deepEqual(replay.body, invalidProof);
    });

    it('refuses a proof that is not a dpop+jwt signed by its embedded key', async () => {
      const other = await keyPair('ES256');
      const forged = await new SignJWT({
        jti: randomUUID(),
        htm: 'POST',
        htu: tokenUrl,
        iat: now(),
      })
        .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: dpopKey.publicJwk })
        .sign(other.privateKey);
      const untyped = await new SignJWT({
        jti: randomUUID(),
        htm: 'POST',
        htu: tokenUrl,
        iat: now(),
      })
        .setProtectedHeader({ alg: 'ES256', jwk: dpopKey.publicJwk })
        .sign(dpopKey.privateKey);
      for (const dpop of [forged, untyped, 'not-a-jwt']) {
        const response = await token({}, { ...secretAuth(), dpop });
        assert.equal(response.status, 400);
        assert.deepEqual(response.body, invalidProof);
      }
    });

    it('requires a proof from a client registered dpop_bound_access_tokens', async () => {
      const { client: bound } = await tessera.registry.create({
        name: 'dpop bound',
        authMethod: 'private_key_jwt',
        jwks: { keys: [es256.publicJwk] },
        dpopBound: true,
      });
      const without = await withAssertion(await assertion(bound.clientId, es256));
      assert.equal(without.status, 400);
      assert.equal((without.body as { error: string }).error, 'invalid_request');
      const withProof = await token(
        {
          client_assertion_type: assertionType,
          client_assertion: await assertion(bound.clientId, es256),
        },
        { dpop: await proof() },
      );
      assert.equal(withProof.status, 200, withProof.text);
      assert.equal((withProof.body as { token_type: string }).token_type, 'DPoP');
    });
  });
});

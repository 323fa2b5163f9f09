/**
 * RFC 9701 JWT-secured introspection (issue 25): `Accept: application/token-introspection+jwt`
 * gets the RFC 7662 answer inside a JWT signed with the server's keys, checked here with jose,
 * and @tessera/verifier's introspection mode can insist on it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import { createVerifier, VerifierError } from '@tessera/verifier';
import { basicAuthorization, startTessera, type TestTessera } from './support/tessera.js';
import { getToken } from './support/tokens.js';

describe('JWT-secured introspection (RFC 9701)', () => {
  let tessera: TestTessera;
  let introspector: { clientId: string; clientSecret: string };
  let accessToken: string;

  before(async () => {
    tessera = await startTessera({ signingAlg: 'ES256' });
    introspector = await tessera.createClient({ scope: 'tessera:introspect' });
    const client = await tessera.createClient({ scope: 'read' });
    accessToken = await getToken(tessera.url, client);
  });
  after(() => tessera.close());

  const introspect = (token: string, accept?: string) =>
    fetch(`${tessera.url}/oauth/introspect`, {
      method: 'POST',
      headers: {
        authorization: basicAuthorization(introspector.clientId, introspector.clientSecret),
        'content-type': 'application/x-www-form-urlencoded',
        ...(accept === undefined ? {} : { accept }),
      },
      body: new URLSearchParams({ token }),
    });
  const jwks = async () =>
    createLocalJWKSet(
      (await (await fetch(`${tessera.url}/.well-known/jwks.json`)).json()) as JSONWebKeySet,
    );

  it('answers a signed JWT with typ token-introspection+jwt, verified with jose', async () => {
    const response = await introspect(accessToken, 'application/token-introspection+jwt');
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'application/token-introspection+jwt');
    assert.equal(response.headers.get('cache-control'), 'no-store');
    const jwt = await response.text();
    assert.equal(decodeProtectedHeader(jwt).typ, 'token-introspection+jwt');
    const { payload, protectedHeader } = await jwtVerify(jwt, await jwks(), {
      issuer: tessera.issuer,
      audience: introspector.clientId,
      typ: 'token-introspection+jwt',
      algorithms: ['ES256'],
    });
    assert.equal(protectedHeader.alg, 'ES256');
    assert.equal(typeof payload.iat, 'number');
    const plain = (await (await introspect(accessToken)).json()) as Record<string, unknown>;
    assert.equal(plain.active, true);
    assert.deepEqual(payload.token_introspection, plain);
  });

  it('signs inactive answers too, and keeps JSON for other Accept values', async () => {
    const response = await introspect(
      'not-a-token',
      'application/json, application/token-introspection+jwt',
    );
    const { payload } = await jwtVerify(await response.text(), await jwks(), {
      issuer: tessera.issuer,
      audience: introspector.clientId,
    });
    assert.deepEqual(payload.token_introspection, { active: false });
    const refused = await introspect(
      accessToken,
      'application/token-introspection+jwt;q=0, application/json',
    );
    assert.match(refused.headers.get('content-type') ?? '', /^application\/json/);
    assert.equal(((await refused.json()) as { active: boolean }).active, true);
  });

  it('advertises introspection_signing_alg_values_supported', async () => {
    const metadata = (await (
      await fetch(`${tessera.url}/.well-known/oauth-authorization-server`)
    ).json()) as Record<string, unknown>;
    assert.deepEqual(metadata.introspection_signing_alg_values_supported, ['ES256']);
  });

  it('is what the verifier’s introspection mode can require', async () => {
    const verifier = createVerifier({
      issuer: tessera.issuer,
      audience: tessera.issuer,
      introspection: {
        url: `${tessera.url}/oauth/introspect`,
        ...introspector,
        requireSignedResponse: true,
        cacheSeconds: 0,
      },
    });
    const owner = await tessera.createClient({ scope: 'read' });
    const token = await getToken(tessera.url, owner);
    const verified = await verifier.verifyToken(token);
    assert.equal(verified.claims.scope, 'read');
    const revoked = await fetch(`${tessera.url}/oauth/revoke`, {
      method: 'POST',
      headers: {
        authorization: basicAuthorization(owner.clientId, owner.clientSecret),
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ token }),
    });
    assert.equal(revoked.status, 200);
    // A fresh verifier: the first one has the token's JWT cached but asks introspection each time.
    await assert.rejects(verifier.verifyToken(token), (error: unknown) => {
      assert.ok(error instanceof VerifierError);
      assert.equal(error.reason, 'inactive');
      return true;
    });
    verifier.close();
  });

  it('fails closed when a signed answer is required and a plain one comes back', async () => {
    const verifier = createVerifier({
      issuer: tessera.issuer,
      audience: tessera.issuer,
      introspection: {
        // A server that ignores Accept: this fetch asks for JSON whatever the verifier wants.
        url: `${tessera.url}/oauth/introspect-plain`,
        ...introspector,
        requireSignedResponse: true,
      },
      fetch: (input, init) => {
        const headers = new Headers(init?.headers);
        headers.set('accept', 'application/json');
        return fetch(String(input).replace('-plain', ''), { ...init, headers });
      },
    });
    await assert.rejects(verifier.verifyToken(accessToken), (error: unknown) => {
      assert.ok(error instanceof VerifierError);
      assert.equal(error.status, 503);
      return true;
    });
    verifier.close();
  });
});

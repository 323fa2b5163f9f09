// End to end against a real Tessera server: discovery, JWKS and a real access token.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { basicAuthorization } from '@tessera/protocol';
import { startTessera } from '../../server/test/support/tessera.js';
import type { TestTessera } from '../../server/test/support/tessera.js';
import { VerifierError, createVerifier } from '../src/index.js';
import type { VerifierEvent } from '../src/index.js';
import { rejection } from './fixture.js';

const audience = 'https://orders.example.test';
let tessera: TestTessera;

before(async () => {
  tessera = await startTessera();
});
after(() => tessera.close());

async function getToken(
  clientId: string,
  clientSecret: string,
  form = 'grant_type=client_credentials',
): Promise<string> {
  const response = await fetch(`${tessera.url}/oauth/token`, {
    method: 'POST',
    headers: {
      authorization: basicAuthorization(clientId, clientSecret),
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: form,
  });
  assert.equal(response.status, 200);
  const body = (await response.json()) as { access_token: string; token_type: string };
  assert.equal(body.token_type, 'Bearer');
  return body.access_token;
}

describe('verifier end to end with a real Tessera server', () => {
  test('verifies a real client-credentials token through discovery', async () => {
    const { clientId, clientSecret } = await tessera.createClient({
      scope: 'orders:read orders:write',
      audience,
    });
    const token = await getToken(clientId, clientSecret);
    const events: VerifierEvent[] = [];
    const verifier = createVerifier({
      issuer: tessera.issuer,
      audience,
      requiredScopes: ['orders:read'],
      onEvent: (e) => events.push(e),
    });
    const verified = await verifier.verify(
      new Request('http://api.test/', { headers: { authorization: `Bearer ${token}` } }),
    );
    assert.equal(verified.claims.iss, tessera.issuer);
    assert.equal(verified.claims.client_id, clientId);
    assert.equal(verified.claims.sub, clientId);
    assert.deepEqual(verified.scopes, ['orders:read', 'orders:write']);
    assert.equal(verified.header.typ.toLowerCase().endsWith('at+jwt'), true);
    assert.ok(
      events.some(
        (e) =>
          e.type === 'discovery' &&
          e.metadataUri === `${tessera.issuer}/.well-known/oauth-authorization-server`,
      ),
    );
    assert.ok(events.some((e) => e.type === 'jwks_fetch'));
    verifier.close();
  });

  test('a real token for another audience or without the scope is refused', async () => {
    const { clientId, clientSecret } = await tessera.createClient({
      scope: 'orders:read',
      audience: 'https://billing.example.test',
    });
    const token = await getToken(clientId, clientSecret);
    const verifier = createVerifier({ issuer: tessera.issuer, audience });
    assert.equal(
      ((await rejection(verifier.verifyToken(token))) as VerifierError).reason,
      'audience',
    );
    const billing = createVerifier({
      issuer: tessera.issuer,
      audience: 'https://billing.example.test',
      requiredScopes: ['orders:write'],
    });
    const error = await rejection(billing.verifyToken(token));
    assert.ok(error instanceof VerifierError);
    assert.equal(error.status, 403);
  });
});

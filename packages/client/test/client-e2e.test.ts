import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTessera, type TestTessera } from '../../server/test/support/tessera.js';
import type { TokenEndpointError } from '../src/index.js';
import { createTokenClient } from '../src/index.js';

function claims(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString()) as Record<
    string,
    unknown
  >;
}

describe('client against a real Tessera server', () => {
  let tessera: TestTessera;
  before(async () => {
    tessera = await startTessera();
  });
  after(() => tessera.close());

  for (const authMethod of ['client_secret_basic', 'client_secret_post'] as const) {
    test(`getToken via discovery with ${authMethod}`, async () => {
      const registered = await tessera.createClient({
        scope: 'read write',
        audience: 'https://api.example.com',
        authMethod,
      });
      const client = createTokenClient({
        issuer: tessera.issuer,
        ...registered,
        authMethod,
        scope: 'read',
      });
      const tokens = await Promise.all(Array.from({ length: 20 }, () => client.getToken()));
      assert.equal(new Set(tokens).size, 1);
      const payload = claims(tokens[0] ?? '');
      assert.equal(payload['client_id'], registered.clientId);
      assert.equal(payload['iss'], tessera.issuer);
      assert.equal(payload['scope'], 'read');
      const other = await client.getToken({ scope: 'write read' });
      assert.notEqual(other, tokens[0]);
      assert.equal(claims(other)['scope'], 'read write');
      await client.close({ revoke: false });
    });
  }

  test('close() revokes through the discovered revocation_endpoint', async () => {
    const registered = await tessera.createClient({ scope: 'read' });
    const client = createTokenClient({ issuer: tessera.issuer, ...registered, scope: 'read' });
    await client.getToken();
    const revoked: boolean[] = [];
    client.on('revoke', (e) => revoked.push(e.ok));
    await client.close(); // revokes by default without a shared store
    assert.deepEqual(revoked, [true]);
    // Introspection needs a privileged caller on Tessera; the revocation answer itself is checked here.
  });

  test('a wrong secret is invalid_client, typed, and the secret is not in the error', async () => {
    const registered = await tessera.createClient({ scope: 'read' });
    const wrong = `${registered.clientSecret}x`;
    const client = createTokenClient({
      issuer: tessera.issuer,
      clientId: registered.clientId,
      clientSecret: wrong,
    });
    await assert.rejects(client.getToken(), (e: TokenEndpointError) => {
      assert.equal(e.error, 'invalid_client');
      assert.equal(e.status, 401);
      assert.ok(!JSON.stringify({ ...e, cause: e.cause }).includes(wrong));
      return true;
    });
    await client.close({ revoke: false });
  });
});

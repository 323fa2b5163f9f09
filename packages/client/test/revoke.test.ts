import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { InvalidOptionError } from '../src/index.js';
import { createTokenClient, createMemoryStore, RevocationError } from '../src/index.js';
import { startTokenServer, type TokenServer } from './fixtures/token-server.js';

describe('revocation', () => {
  let server: TokenServer;
  before(async () => {
    server = await startTokenServer();
  });
  after(() => server.close());

  test('revoke() sends RFC 7009 token + token_type_hint with client_secret_basic and forgets the token', async () => {
    const client = createTokenClient({
      tokenEndpoint: server.tokenEndpoint,
      revocationEndpoint: `${server.url}/revoke`,
      clientId: 'r1',
      clientSecret: 'p@ss word',
    });
    const token = await client.getToken();
    const start = server.revocations.length;
    await client.revoke();
    const r = server.revocations[start]!;
    assert.equal(r.headers['content-type'], 'application/x-www-form-urlencoded');
    assert.equal(
      r.headers.authorization,
      `Basic ${Buffer.from('r1:p%40ss+word').toString('base64')}`,
    );
    assert.deepEqual(Object.fromEntries(new URLSearchParams(r.body)), {
      token,
      token_type_hint: 'access_token',
    });
    assert.notEqual(await client.getToken(), token, 'a revoked token is not served again');
    await client.close({ revoke: false });
  });

  test('client_secret_post revocation carries the credentials in the body; the endpoint comes from discovery', async () => {
    const client = createTokenClient({
      issuer: server.url,
      clientId: 'r2',
      clientSecret: 's',
      authMethod: 'client_secret_post',
    });
    const token = await client.getToken();
    const start = server.revocations.length;
    await client.revoke(token);
    assert.deepEqual(Object.fromEntries(new URLSearchParams(server.revocations[start]!.body)), {
      token,
      token_type_hint: 'access_token',
      client_id: 'r2',
      client_secret: 's',
    });
    await client.close({ revoke: false });
  });

  test('close() revokes what the client holds and then refuses calls', async () => {
    const client = createTokenClient({ issuer: server.url, clientId: 'r3', clientSecret: 's' });
    await client.getToken({ scope: 'a' });
    await client.getToken({ scope: 'b' });
    const start = server.revocations.length;
    await client.close();
    assert.equal(server.revocations.length - start, 2);
    await assert.rejects(client.getToken(), (e: RevocationError) => e.code === 'client_closed');
    await client.close(); // idempotent
  });

  test('close() does not revoke by default when a shared store is configured', async () => {
    const client = createTokenClient({
      issuer: server.url,
      clientId: 'r4',
      clientSecret: 's',
      store: createMemoryStore(),
    });
    await client.getToken();
    const start = server.revocations.length;
    await client.close();
    assert.equal(server.revocations.length, start);
  });

  test('no revocation endpoint → invalid_option naming it; failures are typed', async () => {
    const client = createTokenClient({
      tokenEndpoint: server.tokenEndpoint,
      clientId: 'r5',
      clientSecret: 's',
    });
    await client.getToken();
    await assert.rejects(
      client.revoke(),
      (e: InvalidOptionError) => e.option === 'revocationEndpoint',
    );
    const failing = createTokenClient({
      tokenEndpoint: server.tokenEndpoint,
      revocationEndpoint: `${server.url}/nowhere`,
      clientId: 'r6',
      clientSecret: 's',
    });
    await failing.getToken();
    await assert.rejects(
      failing.revoke(),
      (e: RevocationError) => e instanceof RevocationError && e.status === 404,
    );
    await client.close();
    await failing.close();
  });
});

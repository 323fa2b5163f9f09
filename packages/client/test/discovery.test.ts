import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTokenClient, DiscoveryError } from '../src/index.js';
import { discoveryUrls } from '../src/discovery.js';
import { startTokenServer, type TokenServer } from './fixtures/token-server.js';

describe('discovery', () => {
  let server: TokenServer;
  before(async () => {
    server = await startTokenServer();
  });
  after(() => server.close());

  test('well-known URLs: RFC 8414 inserted form, appended form, then openid-configuration', () => {
    assert.deepEqual(discoveryUrls('https://as.example'), [
      'https://as.example/.well-known/oauth-authorization-server',
      'https://as.example/.well-known/openid-configuration',
    ]);
    assert.deepEqual(discoveryUrls('https://as.example/tenant/'), [
      'https://as.example/.well-known/oauth-authorization-server/tenant',
      'https://as.example/tenant/.well-known/oauth-authorization-server',
      'https://as.example/tenant/.well-known/openid-configuration',
    ]);
  });

  test('only the issuer given: the token endpoint comes from oauth-authorization-server metadata', async () => {
    server.serveMetadataAt('/.well-known/oauth-authorization-server');
    const client = createTokenClient({ issuer: server.url, clientId: 'disc', clientSecret: 'x' });
    const start = server.count;
    const tokens = await Promise.all([client.getToken(), client.getToken()]);
    assert.equal(tokens[0], tokens[1]);
    assert.equal(server.posts[start]?.url, '/token');
    await client.close({ revoke: false });
  });

  test('falls back to openid-configuration', async () => {
    server.serveMetadataAt('/.well-known/openid-configuration');
    const client = createTokenClient({ issuer: server.url, clientId: 'disc2', clientSecret: 'x' });
    assert.match(await client.getToken(), /^tok-/);
    await client.close({ revoke: false });
    server.serveMetadataAt('/.well-known/oauth-authorization-server');
  });

  test('an issuer mismatch fails with discovery_failed, and the next call tries again', async () => {
    const client = createTokenClient({
      issuer: `http://localhost:${new URL(server.url).port}`,
      clientId: 'disc3',
      clientSecret: 'x',
    });
    await assert.rejects(
      client.getToken(),
      (e: DiscoveryError) => e instanceof DiscoveryError && e.code === 'discovery_failed',
    );
    await assert.rejects(client.getToken(), DiscoveryError);
    await client.close({ revoke: false });
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { InvalidOptionError } from '../src/index.js';
import { createTokenClient, presets } from '../src/index.js';
import { startResourceServer } from './fixtures/resource-server.js';
import { startTokenServer, type TokenServer } from './fixtures/token-server.js';

describe('presets', () => {
  let server: TokenServer;
  before(async () => {
    server = await startTokenServer();
  });
  after(() => server.close());
  const last = () => server.posts[server.posts.length - 1]!;

  test('tesouro: URLs per environment', () => {
    assert.equal(
      presets.tesouro({ environment: 'sandbox', clientId: 'a', clientSecret: 'b' }).tokenEndpoint,
      'https://api.sandbox.tesouro.com/openid/connect/token',
    );
    const prod = presets.tesouro({ environment: 'production', clientId: 'a', clientSecret: 'b' });
    assert.equal(prod.tokenEndpoint, 'https://api.tesouro.com/openid/connect/token');
    assert.equal(prod.revocationEndpoint, 'https://api.tesouro.com/v1/auth/revoke');
  });

  test('tesouro: urlencoded body with client_id and client_secret; JSON revoke with X-Finops-Version', async () => {
    const client = createTokenClient(
      presets.tesouro({
        environment: 'sandbox',
        baseUrl: server.url,
        clientId: 'tid',
        clientSecret: 't&secret',
      }),
    );
    const token = await client.getToken();
    const post = last();
    assert.equal(post.url, '/openid/connect/token');
    assert.equal(post.headers['content-type'], 'application/x-www-form-urlencoded');
    assert.equal(post.headers.authorization, undefined);
    assert.deepEqual(Object.fromEntries(new URLSearchParams(post.body)), {
      grant_type: 'client_credentials',
      client_id: 'tid',
      client_secret: 't&secret',
    });
    // The fixture serves RFC 7009 at /revoke; Tesouro's path is /v1/auth/revoke, so point a resource server there.
    const revokeServer = await startResourceServer(() => ({
      status: 200,
      body: { message: 'ok' },
    }));
    const client2 = createTokenClient(
      presets.tesouro({
        environment: 'sandbox',
        baseUrl: server.url,
        clientId: 'tid',
        clientSecret: 't&secret',
      }),
    );
    await client2.getToken();
    const seen: { url: string; headers: Record<string, string>; body: string }[] = [];
    const spy = createTokenClient({
      ...presets.tesouro({
        environment: 'sandbox',
        baseUrl: revokeServer.url,
        clientId: 'tid',
        clientSecret: 't&secret',
      }),
      fetch: async (input, init) => {
        seen.push({
          url: String(input),
          headers: init?.headers as Record<string, string>,
          body: String(init?.body),
        });
        return new Response('{"message":"ok"}', {
          status: 200,
          headers: { 'content-type': 'application/json' },
        });
      },
    });
    await spy.revoke(token);
    assert.equal(seen.length, 1);
    assert.equal(seen[0]?.url, `${revokeServer.url}/v1/auth/revoke`);
    assert.equal(seen[0]?.headers['x-finops-version'], '2025-06-23');
    assert.equal(seen[0]?.headers['content-type'], 'application/json');
    assert.deepEqual(JSON.parse(seen[0]?.body ?? ''), {
      client_id: 'tid',
      client_secret: 't&secret',
      token,
    });
    await Promise.all([
      client.close({ revoke: false }),
      client2.close({ revoke: false }),
      spy.close({ revoke: false }),
      revokeServer.close(),
    ]);
  });

  test('contaSimples: Basic base64(api_key:api_secret) as documented and a body of only grant_type', async () => {
    const client = createTokenClient(
      presets.contaSimples({ baseUrl: server.url, clientId: 'key:1', clientSecret: 'sec ret' }),
    );
    await client.getToken();
    const post = last();
    assert.equal(post.url, '/oauth/v1/access-token');
    assert.equal(
      post.headers.authorization,
      `Basic ${Buffer.from('key:1:sec ret').toString('base64')}`,
    );
    assert.equal(post.headers['content-type'], 'application/x-www-form-urlencoded');
    assert.equal(post.body, 'grant_type=client_credentials');
    assert.equal(
      presets.contaSimples({ clientId: 'a', clientSecret: 'b' }).tokenEndpoint,
      'https://api-sandbox.contasimples.com/oauth/v1/access-token',
    );
    await client.close();
  });

  test('treezor: multipart/form-data with grant_type, client_id, client_secret and optional scope', async () => {
    const client = createTokenClient(
      presets.treezor({
        baseUrl: `${server.url}/`,
        clientId: 'tz',
        clientSecret: 'tzs',
        scope: 'read_only admin',
      }),
    );
    await client.getToken();
    const post = last();
    assert.equal(post.url, '/oauth/token');
    assert.match(post.headers['content-type'] ?? '', /^multipart\/form-data; boundary=/);
    const form = await new Response(post.body, {
      headers: { 'content-type': post.headers['content-type'] ?? '' },
    }).formData();
    assert.deepEqual(Object.fromEntries(form), {
      grant_type: 'client_credentials',
      client_id: 'tz',
      client_secret: 'tzs',
      scope: 'admin read_only',
    });
    await client.close();
  });

  test('astrapay: urlencoded grant_type, client_id, client_secret and a required scope', async () => {
    const client = createTokenClient(
      presets.astrapay({ baseUrl: server.url, clientId: 'ap', clientSecret: 'aps', scope: 'pix' }),
    );
    await client.getToken();
    const post = last();
    assert.equal(post.url, '/oauth/v1/token');
    assert.deepEqual(Object.fromEntries(new URLSearchParams(post.body)), {
      grant_type: 'client_credentials',
      client_id: 'ap',
      client_secret: 'aps',
      scope: 'pix',
    });
    assert.equal(
      presets.astrapay({ clientId: 'a', clientSecret: 'b', scope: 'x' }).tokenEndpoint,
      'https://api-sandbox.astrapay.com.br/oauth/v1/token',
    );
    const noScope = createTokenClient(
      presets.astrapay({ baseUrl: server.url, clientId: 'ap', clientSecret: 'aps', scope: '' }),
    );
    await assert.rejects(
      noScope.getToken(),
      (e: InvalidOptionError) => e.code === 'invalid_option' && e.option === 'scope',
    );
    await client.close();
    await noScope.close();
  });

  test('providers without RFC 6750 challenges: any 401 renews and replays once', async () => {
    const client = createTokenClient(
      presets.astrapay({ baseUrl: server.url, clientId: 'ap2', clientSecret: 'aps', scope: 'pix' }),
    );
    const a = await client.getToken();
    const resource = await startResourceServer((token) =>
      token === a ? { status: 401, body: { error: 'Unauthorized' } } : { status: 200 },
    );
    assert.equal((await client.fetch(resource.url)).status, 200);
    assert.equal(resource.seen.length, 2);
    await client.close();
    await resource.close();
  });
});

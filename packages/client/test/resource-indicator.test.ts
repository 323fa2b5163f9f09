/**
 * Issue 16: the `audience` option is sent as RFC 8707 `resource` when it is an absolute URI
 * (standard servers ignore the non-standard `audience` silently, RFC 6749 §3.2, and the
 * client would cache a token for the wrong audience); other values stay `audience`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTokenClient } from '../src/index.js';
import { startTokenServer, type TokenServer } from './fixtures/token-server.js';

describe('audience as an RFC 8707 resource indicator', () => {
  let server: TokenServer;
  before(async () => {
    server = await startTokenServer();
  });
  after(() => server.close());

  const sent = async (
    options: { audience?: string; resource?: string },
    dialect?: { audienceParameter: 'audience' },
  ) => {
    const client = createTokenClient({
      tokenEndpoint: server.tokenEndpoint,
      clientId: 'c',
      clientSecret: 's',
      ...options,
      ...(dialect ? { dialect } : {}),
    });
    const start = server.posts.length;
    await client.getToken();
    await client.close({ revoke: false });
    const body = Object.fromEntries(new URLSearchParams(server.posts[start]!.body));
    delete body.grant_type;
    return body;
  };

  test('an absolute URI goes out as resource', async () => {
    assert.deepEqual(await sent({ audience: 'https://api.example.com/v1' }), {
      resource: 'https://api.example.com/v1',
    });
    assert.deepEqual(await sent({ audience: 'urn:example:api' }), {
      resource: 'urn:example:api',
    });
  });

  test('a value that is not an absolute URI (or has a fragment) stays audience', async () => {
    assert.deepEqual(await sent({ audience: 'orders-api' }), { audience: 'orders-api' });
    assert.deepEqual(await sent({ audience: 'https://api.example.com/#x' }), {
      audience: 'https://api.example.com/#x',
    });
  });

  test('with resource given too, audience is sent as audience; a dialect can keep audience', async () => {
    assert.deepEqual(await sent({ audience: 'https://a.example', resource: 'https://b.example' }), {
      audience: 'https://a.example',
      resource: 'https://b.example',
    });
    assert.deepEqual(
      await sent({ audience: 'https://a.example' }, { audienceParameter: 'audience' }),
      {
        audience: 'https://a.example',
      },
    );
  });
});

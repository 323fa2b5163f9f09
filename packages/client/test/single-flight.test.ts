import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTokenClient, TokenClientError, type TokenClientOptions } from '../src/index.js';
import { clockedOptions } from './fixtures/clock.js';
import { startTokenServer, type TokenServer } from './fixtures/token-server.js';

describe('single flight', () => {
  let server: TokenServer;
  before(async () => {
    server = await startTokenServer();
  });
  after(() => server.close());

  const options = (extra: Partial<TokenClientOptions> = {}) =>
    clockedOptions(server.tokenEndpoint, extra);

  test('100 concurrent getToken() on a cold cache make exactly one POST', async () => {
    const before = server.count;
    server.push({ delayMs: 30 });
    const client = createTokenClient(options());
    const tokens = await Promise.all(Array.from({ length: 100 }, () => client.getToken()));
    assert.equal(server.count - before, 1);
    assert.equal(new Set(tokens).size, 1);
    // And the cache answers afterwards without another POST.
    assert.equal(await client.getToken(), tokens[0]);
    assert.equal(server.count - before, 1);
    await client.close({ revoke: false });
  });

  test('a failing first POST gives every waiter the same typed error; the next call makes a new POST', async () => {
    const before = server.count;
    server.push({
      status: 400,
      body: { error: 'invalid_request', error_description: 'nope' },
      delayMs: 20,
    });
    const client = createTokenClient(options());
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => client.getToken()));
    assert.equal(server.count - before, 1);
    const reasons = results.map((r) =>
      r.status === 'rejected' ? (r.reason as unknown) : undefined,
    );
    assert.ok(reasons[0] instanceof TokenClientError);
    assert.ok(
      reasons.every((r) => r === reasons[0]),
      'all waiters share one error object',
    );
    const error = reasons[0] as TokenClientError;
    assert.equal(error.code, 'token_endpoint_error');
    assert.equal(error.error, 'invalid_request');
    assert.equal(error.error_description, 'nope');
    assert.equal(error.status, 400);
    assert.deepEqual(error.cause, {
      body: { error: 'invalid_request', error_description: 'nope' },
    });

    const token = await client.getToken();
    assert.match(token, /^tok-/);
    assert.equal(server.count - before, 2);
    await client.close({ revoke: false });
  });

  test('concurrent callers with different scopes get separate requests, the same scope shares one', async () => {
    const before = server.count;
    const client = createTokenClient(options());
    const [a1, a2, b] = await Promise.all([
      client.getToken({ scope: 'read write' }),
      client.getToken({ scope: ['write', 'read'] }),
      client.getToken({ scope: 'read' }),
    ]);
    assert.equal(a1, a2, 'scope order does not change the cache key');
    assert.notEqual(a1, b);
    assert.equal(server.count - before, 2);
    const bodies = server.posts.slice(before).map((p) => new URLSearchParams(p.body).get('scope'));
    assert.deepEqual(bodies.sort(), ['read', 'read write']);
    await client.close({ revoke: false });
  });
});

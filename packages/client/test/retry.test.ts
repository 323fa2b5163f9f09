import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { TokenEndpointError } from '../src/index.js';
import { createTokenClient, type TokenClientOptions } from '../src/index.js';
import { backoffDelay, parseRetryAfter } from '../src/retry.js';
import { clockedOptions, manualClock } from './fixtures/clock.js';
import { startTokenServer, type TokenServer } from './fixtures/token-server.js';

describe('token endpoint retries', () => {
  let server: TokenServer;
  before(async () => {
    server = await startTokenServer();
  });
  after(() => server.close());

  const setup = (extra: Partial<TokenClientOptions> = {}) => {
    const clock = manualClock();
    const client = createTokenClient(clockedOptions(server.tokenEndpoint, extra, clock));
    return { clock, client };
  };

  test('503, 503, 200 → three POSTs and success, with growing jittered backoff', async () => {
    const { clock, client } = setup({
      retry: { maxRetries: 2, baseDelayMs: 100, maxDelayMs: 5000 },
    });
    const retries: { attempt: number; delayMs: number; status: number | undefined }[] = [];
    client.on('retry', (e) =>
      retries.push({ attempt: e.attempt, delayMs: e.delayMs, status: e.status }),
    );
    const start = server.count;
    server.push({ status: 503 }, { status: 503 });
    assert.match(await client.getToken(), /^tok-/);
    assert.equal(server.count - start, 3);
    assert.deepEqual(clock.sleeps, [50, 100]); // random 0.5 × 100·2^n
    assert.deepEqual(retries, [
      { attempt: 1, delayMs: 50, status: 503 },
      { attempt: 2, delayMs: 100, status: 503 },
    ]);
    await client.close({ revoke: false });
  });

  test('429 with Retry-After waits exactly that long', async () => {
    const { clock, client } = setup();
    server.push({ status: 429, headers: { 'retry-after': '2' }, body: { error: 'slow_down' } });
    await client.getToken();
    assert.deepEqual(clock.sleeps, [2000]);
    await client.close({ revoke: false });
  });

  test('a Retry-After beyond maxDelayMs ends the retries and blocks the key for that long', async () => {
    const { clock, client } = setup({
      retry: { maxDelayMs: 1000 },
      negativeCache: { maxSeconds: 60 },
    });
    const start = server.count;
    server.push({ status: 503, headers: { 'retry-after': '10' } });
    await assert.rejects(
      client.getToken(),
      (e: TokenEndpointError) => e.retryAfterMs === 10_000 && e.status === 503,
    );
    assert.equal(server.count - start, 1);
    await assert.rejects(client.getToken(), (e: TokenEndpointError) => e.status === 503); // from the negative cache
    assert.equal(server.count - start, 1);
    clock.advance(10_000);
    assert.match(await client.getToken(), /^tok-/);
    assert.equal(server.count - start, 2);
    await client.close({ revoke: false });
  });

  for (const error of ['invalid_client', 'invalid_grant', 'invalid_scope', 'unauthorized_client']) {
    test(`${error} is never retried, even with a 5xx status`, async () => {
      const { client } = setup();
      const start = server.count;
      server.push({ status: 500, body: { error } });
      await assert.rejects(
        client.getToken(),
        (e: TokenEndpointError) => e.error === error && e.status === 500,
      );
      assert.equal(server.count - start, 1);
      await client.close({ revoke: false });
    });
  }

  test('a network error is retried', async () => {
    const { client } = setup();
    const start = server.count;
    server.push({ destroy: true });
    assert.match(await client.getToken(), /^tok-/);
    assert.equal(server.count - start, 2);
    await client.close({ revoke: false });
  });

  test('retries exhausted → token_endpoint_error with the last status', async () => {
    const { client } = setup({ retry: { maxRetries: 1 } });
    const start = server.count;
    server.push({ status: 502 }, { status: 504 });
    await assert.rejects(
      client.getToken(),
      (e: TokenEndpointError) => e.code === 'token_endpoint_error' && e.status === 504,
    );
    assert.equal(server.count - start, 2);
    await client.close({ revoke: false });
  });

  test('an unusable 200 answer is an invalid_token_response error', async () => {
    const { client } = setup();
    server.push({ body: { token_type: 'Bearer' } });
    await assert.rejects(
      client.getToken(),
      (e: TokenEndpointError) => e.code === 'invalid_token_response',
    );
    server.push({ body: { access_token: 'x', token_type: 'DPoP', expires_in: 60 } });
    await assert.rejects(
      client.getToken(),
      (e: TokenEndpointError) => e.code === 'invalid_token_response',
    );
    await client.close({ revoke: false });
  });

  test('close() cancels a pending backoff', async () => {
    const client = createTokenClient({
      tokenEndpoint: server.tokenEndpoint,
      clientId: 'close-test',
      clientSecret: 'secret',
      retry: { baseDelayMs: 60_000, maxDelayMs: 60_000 },
      random: () => 1,
    });
    server.push({ status: 503 });
    const pending = client.getToken();
    await server.waitForPosts(server.count);
    await new Promise((r) => setTimeout(r, 50));
    await client.close();
    await assert.rejects(pending, (e: TokenEndpointError) => e.code === 'client_closed');
  });

  test('backoff and Retry-After parsing', () => {
    const policy = { maxRetries: 5, baseDelayMs: 100, maxDelayMs: 1000 };
    assert.deepEqual(
      [0, 1, 2, 3, 4].map((n) => backoffDelay(n, policy, () => 1)),
      [100, 200, 400, 800, 1000],
    );
    assert.equal(
      backoffDelay(3, policy, () => 0),
      0,
    );
    assert.equal(parseRetryAfter('3', 0), 3000);
    assert.equal(
      parseRetryAfter('Wed, 21 Oct 2015 07:28:10 GMT', Date.parse('Wed, 21 Oct 2015 07:28:00 GMT')),
      10_000,
    );
    assert.equal(parseRetryAfter('soon', 0), undefined);
    assert.equal(parseRetryAfter(null, 0), undefined);
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { TokenEndpointError } from '../src/index.js';
import { createTokenClient } from '../src/index.js';
import { manualClock } from './fixtures/clock.js';
import { startTokenServer, type TokenServer } from './fixtures/token-server.js';

describe('negative cache', () => {
  let server: TokenServer;
  before(async () => {
    server = await startTokenServer();
  });
  after(() => server.close());

  test('bad credentials for a simulated minute make no more POSTs than the ceiling allows', async () => {
    const clock = manualClock(0);
    const client = createTokenClient({
      tokenEndpoint: server.tokenEndpoint,
      clientId: 'bad',
      clientSecret: 'wrong',
      now: clock.now,
      random: () => 0.5,
      sleep: clock.sleep,
      negativeCache: { afterFailures: 2, seconds: 1, maxSeconds: 10 },
    });
    server.setFallback({
      status: 401,
      body: { error: 'invalid_client', error_description: 'bad credentials' },
    });
    const hits: number[] = [];
    client.on('negative-cache-hit', (e) => hits.push(e.untilMs));
    const start = server.count;
    let failures = 0;
    // A busy caller: one getToken every 100 ms for 60 s (600 calls).
    for (let t = 0; t < 60_000; t += 100) {
      clock.set(t);
      await assert.rejects(
        client.getToken(),
        (e: TokenEndpointError) => e.error === 'invalid_client',
      );
      failures++;
    }
    const posts = server.count - start;
    // Failure 1 at 0 s and 2 at 0.1 s, then blocks of 1, 2, 4, 8 s and the 10 s ceiling:
    // POSTs at 0, 0.1, 1.1, 3.1, 7.1, 15.1, 25.1, 35.1, 45.1, 55.1 → 10.
    assert.equal(posts, 10);
    assert.ok(posts <= 2 + 4 + Math.ceil(60 / 10), 'bounded by the ceiling');
    assert.equal(failures, 600);
    assert.equal(hits.length, 590);
    server.setFallback({});
    clock.set(70_000);
    assert.match(await client.getToken(), /^tok-/, 'recovers once the block expires');
    await client.close({ revoke: false });
  });

  test('negativeCache: false disables it', async () => {
    const clock = manualClock(0);
    const client = createTokenClient({
      tokenEndpoint: server.tokenEndpoint,
      clientId: 'bad2',
      clientSecret: 'wrong',
      now: clock.now,
      negativeCache: false,
    });
    server.setFallback({ status: 400, body: { error: 'invalid_grant' } });
    const start = server.count;
    for (let i = 0; i < 5; i++) await assert.rejects(client.getToken());
    assert.equal(server.count - start, 5);
    server.setFallback({});
    await client.close({ revoke: false });
  });
});

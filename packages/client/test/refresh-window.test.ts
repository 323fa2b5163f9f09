import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTokenClient, scheduleToken } from '../src/index.js';
import { manualClock } from './fixtures/clock.js';
import { startTokenServer, type TokenServer } from './fixtures/token-server.js';

describe('refresh window', () => {
  let server: TokenServer;
  before(async () => {
    server = await startTokenServer();
  });
  after(() => server.close());

  function client(clock: ReturnType<typeof manualClock>, random = 0.5) {
    return createTokenClient({
      tokenEndpoint: server.tokenEndpoint,
      clientId: `client-${Math.random()}`,
      clientSecret: 'secret',
      now: clock.now,
      random: () => random,
      sleep: clock.sleep,
    });
  }

  test('schedule: skew 30 s and jitter up to 30 s for an hour-long token', () => {
    const s = scheduleToken(
      0,
      3_600_000,
      { skewMs: 30_000, jitterMs: 30_000, maxFraction: 0.25 },
      () => 0.5,
    );
    assert.deepEqual(s, {
      obtainedAt: 0,
      expiresAt: 3_600_000,
      usableUntil: 3_570_000,
      refreshAt: 3_555_000,
    });
  });

  test('schedule: expires_in 5 with the default skew scales skew and jitter to a quarter of the lifetime', () => {
    const s = scheduleToken(
      0,
      5_000,
      { skewMs: 30_000, jitterMs: 30_000, maxFraction: 0.25 },
      () => 1,
    );
    assert.deepEqual(s, { obtainedAt: 0, expiresAt: 5_000, usableUntil: 3_750, refreshAt: 2_500 });
  });

  test('cached until the window, then served while exactly one background refresh runs', async () => {
    const clock = manualClock(0);
    const c = client(clock);
    const start = server.count;
    server.push({ expires_in: 3600 });
    const a = await c.getToken();
    clock.set(3_554_999);
    assert.equal(await c.getToken(), a);
    assert.equal(server.count - start, 1, 'no request before the window');

    // Inside the window (refreshAt = 3 555 000 with random 0.5): the cached token is served
    // by every caller while a single background refresh runs.
    clock.set(3_556_000);
    server.push({ expires_in: 3600, delayMs: 50 });
    const refreshes: string[] = [];
    c.on('refresh', (e) => refreshes.push(e.reason));
    const during = await Promise.all(Array.from({ length: 20 }, () => c.getToken()));
    assert.ok(during.every((t) => t === a));
    await server.waitForPosts(start + 2);
    assert.deepEqual(refreshes, ['background']);
    // Wait for the background refresh to land.
    await new Promise((r) => setTimeout(r, 100));
    const b = await c.getToken();
    assert.notEqual(b, a);
    assert.equal(server.count - start, 2);
    await c.close({ revoke: false });
  });

  test('expires_in 5 with the default skew of 30 still caches, refreshes and never hands out a token near expiry', async () => {
    const clock = manualClock(0);
    const c = client(clock, 0.5); // refreshAt 3 125, usableUntil 3 750
    const start = server.count;
    server.push({ expires_in: 5 });
    const a = await c.getToken();
    clock.set(3_000);
    assert.equal(await c.getToken(), a, 'still cached at 3 s');
    assert.equal(server.count - start, 1);

    clock.set(3_200); // window: served, refreshed in the background
    server.push({ expires_in: 5 });
    assert.equal(await c.getToken(), a);
    await server.waitForPosts(start + 2);
    await new Promise((r) => setTimeout(r, 30));
    const b = await c.getToken();
    assert.notEqual(b, a);

    // Past usableUntil of the newest token with no refresh done: callers wait for a new one.
    clock.set(3_200 + 3_800);
    server.push({ expires_in: 5 });
    const c2 = await c.getToken();
    assert.notEqual(c2, b);
    assert.equal(server.count - start, 3);
    await c.close({ revoke: false });
  });

  test('a token is never handed out with less than the skew left', async () => {
    const clock = manualClock(0);
    const c = client(clock, 1);
    const start = server.count;
    server.push({ expires_in: 100 }); // skew min(30, 25) = 25 s → usableUntil 75 s (refreshAt 50 s)
    const a = await c.getToken();
    clock.set(74_999);
    c.on('error', () => undefined);
    server.push({ status: 400, body: { error: 'invalid_request' } }); // the background refresh fails…
    assert.equal(await c.getToken(), a, '…and A is still served inside the window');
    await server.waitForPosts(start + 2);
    await new Promise((r) => setTimeout(r, 30));
    clock.set(75_000); // exactly skew left: A is never handed out again
    const b = await c.getToken();
    assert.notEqual(b, a);
    assert.equal(server.count - start, 3);
    await c.close({ revoke: false });
  });

  test('jitter spreads refresh instants across a fleet', () => {
    const policy = { skewMs: 30_000, jitterMs: 30_000, maxFraction: 0.25 };
    const instants = [0, 0.25, 0.5, 0.75, 0.999].map(
      (r) => scheduleToken(0, 3_600_000, policy, () => r).refreshAt,
    );
    assert.equal(new Set(instants).size, 5);
    assert.ok(instants.every((t) => t >= 3_540_000 && t <= 3_570_000));
  });

  test('expires_in as a numeric string and a missing expires_in are accepted', async () => {
    const clock = manualClock(0);
    const c = client(clock);
    server.push({ body: { access_token: 'str-exp', token_type: 'bearer', expires_in: '60' } });
    assert.equal(await c.getToken(), 'str-exp');
    const c2 = client(clock);
    server.push({ body: { access_token: 'no-exp', token_type: 'Bearer' } });
    assert.equal(await c2.getToken(), 'no-exp');
    clock.set(200_000); // default 300 s lifetime: still cached
    assert.equal(await c2.getToken(), 'no-exp');
    await c.close({ revoke: false });
    await c2.close({ revoke: false });
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createVerifier } from '../src/index.js';
import type { VerifierEvent } from '../src/index.js';
import { LruCache } from '../src/token-cache.js';
import { audience, clock, invalidToken, rejection, startFixture, t0 } from './fixture.js';
import type { Fixture } from './fixture.js';

let fx: Fixture;
before(async () => {
  fx = await startFixture();
});
after(() => fx.close());

describe('token cache', () => {
  test('a reused token is served from the cache and returns the same frozen result', async () => {
    const events: VerifierEvent[] = [];
    const verifier = createVerifier({
      issuer: fx.issuer,
      audience,
      now: clock().now,
      onEvent: (e) => events.push(e),
    });
    const token = await fx.sign();
    const first = await verifier.verifyToken(token);
    const second = await verifier.verifyToken(token);
    assert.equal(first, second);
    assert.deepEqual(
      events
        .filter((e) => e.type.startsWith('token_'))
        .map((e) => e.type === 'token_accepted' && e.cached),
      [false, true],
    );
  });

  test('a cached token is rejected once the injected clock passes exp + tolerance', async () => {
    const c = clock();
    const verifier = createVerifier({ issuer: fx.issuer, audience, now: c.now, clockTolerance: 5 });
    const token = await fx.sign({ claims: { exp: t0 + 60 } });
    await verifier.verifyToken(token);
    c.advance(64);
    await verifier.verifyToken(token);
    c.advance(1);
    const error = await rejection(verifier.verifyToken(token));
    assert.deepStrictEqual(verifier.errorResponse(error), invalidToken('The access token expired'));
    c.advance(-65); // the expired entry was dropped, not kept: the token verifies afresh
    await verifier.verifyToken(token);
  });

  test('a cached token still faces the scope check of each call', async () => {
    const verifier = createVerifier({ issuer: fx.issuer, audience, now: clock().now });
    const token = await fx.sign({ claims: { scope: 'orders:read' } });
    await verifier.verifyToken(token, { requiredScopes: ['orders:read'] });
    assert.equal(
      (
        (await rejection(verifier.verifyToken(token, { requiredScopes: ['orders:write'] }))) as {
          status: number;
        }
      ).status,
      403,
    );
  });

  test('the cache is bounded and evicts the least recently used entry', () => {
    const lru = new LruCache<string, number>(2);
    lru.set('a', 1);
    lru.set('b', 2);
    lru.get('a');
    lru.set('c', 3);
    assert.equal(lru.size, 2);
    assert.equal(lru.get('b'), undefined);
    assert.equal(lru.get('a'), 1);
    assert.equal(lru.get('c'), 3);
  });

  test('tokenCacheSize bounds the verifier cache', async () => {
    const events: VerifierEvent[] = [];
    const verifier = createVerifier({
      issuer: fx.issuer,
      audience,
      now: clock().now,
      tokenCacheSize: 2,
      onEvent: (e) => events.push(e),
    });
    const tokens = [await fx.sign(), await fx.sign(), await fx.sign()];
    for (const token of tokens) await verifier.verifyToken(token);
    events.length = 0;
    await verifier.verifyToken(tokens[0]!);
    assert.deepEqual(events.at(-1), { type: 'token_accepted', cached: false });
  });
});

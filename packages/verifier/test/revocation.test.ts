import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createVerifier } from '../src/index.js';
import type { VerifierEvent, VerifierOptions, VerifierError } from '../src/index.js';
import {
  audience,
  basic,
  clock,
  feedClient,
  invalidToken,
  rejection,
  startFixture,
  t0,
} from './fixture.js';
import type { Fixture } from './fixture.js';

let fx: Fixture;
before(async () => {
  fx = await startFixture();
});
after(() => fx.close());

/** A verifier whose events can be awaited. */
function observed(options: Partial<VerifierOptions>) {
  const events: VerifierEvent[] = [];
  const waiters: { type: string; resolve: () => void }[] = [];
  const verifier = createVerifier({
    issuer: fx.issuer,
    audience,
    now: clock().now,
    onEvent: (event) => {
      events.push(event);
      for (const w of waiters.filter((w) => w.type === event.type)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    },
    ...options,
  });
  const next = (type: VerifierEvent['type']) =>
    new Promise<void>((resolve) => waiters.push({ type, resolve }));
  return { verifier, events, next };
}

const feed = () => ({ url: `${fx.issuer}/revocations`, ...feedClient, intervalMs: 10 });

describe('revocation feed', () => {
  test('rejects a token revoked before start-up on the very first request', async () => {
    const token = await fx.sign({ claims: { jti: 'revoked-early' } });
    fx.revoked.push({ jti: 'revoked-early', exp: t0 + 300 });
    const { verifier } = observed({ revocationFeed: feed() });
    try {
      const error = await rejection(verifier.verifyToken(token));
      assert.deepStrictEqual(
        verifier.errorResponse(error),
        invalidToken('The access token has been revoked'),
      );
    } finally {
      verifier.close();
    }
  });

  test('polls with the cursor and client_secret_basic, and a cached token is rejected once revoked', async () => {
    const before = fx.feedRequests.length;
    const { verifier, events, next } = observed({ revocationFeed: feed() });
    try {
      const token = await fx.sign({ claims: { jti: 'revoked-later' } });
      await verifier.verifyToken(token);
      await verifier.verifyToken(token);
      assert.deepEqual(
        events.filter((e) => e.type === 'token_accepted'),
        [
          { type: 'token_accepted', cached: false },
          { type: 'token_accepted', cached: true },
        ],
      );
      fx.revoked.push({ jti: 'revoked-later', exp: t0 + 300 });
      await next('revocation_sync');
      await next('revocation_sync');
      const error = await rejection(verifier.verifyToken(token));
      assert.deepStrictEqual(
        verifier.errorResponse(error),
        invalidToken('The access token has been revoked'),
      );
      assert.deepEqual(events.at(-1), { type: 'token_rejected', reason: 'revoked', cached: true });

      // A poll the previous test's verifier had in flight may land after `before`.
      const requests = fx.feedRequests.slice(before);
      const first = requests.findIndex((r) => r.url === '/revocations');
      assert.ok(first >= 0, 'the first poll asks for everything');
      assert.match(requests[first + 1]!.url, /^\/revocations\?since=\d+$/);
      for (const r of requests)
        assert.equal(r.authorization, basic(feedClient.clientId, feedClient.clientSecret));
      assert.ok(!JSON.stringify(events).includes(feedClient.clientSecret));
    } finally {
      verifier.close();
    }
  });

  test('close() stops polling', async () => {
    const { verifier, next } = observed({ revocationFeed: feed() });
    await next('revocation_sync');
    verifier.close();
    const count = fx.counts.feed;
    await sleep(60);
    assert.equal(fx.counts.feed, count);
  });

  test('fails closed with 503 while the feed has never answered', async () => {
    fx.feedStatus = 503;
    const { verifier, events } = observed({ revocationFeed: feed() });
    try {
      const error = (await rejection(verifier.verifyToken(await fx.sign()))) as VerifierError;
      assert.equal(error.status, 503);
      assert.equal(error.reason, 'unavailable');
      assert.ok(
        events.some(
          (e) =>
            e.type === 'revocation_error' && e.message === `GET ${fx.issuer}/revocations: HTTP 503`,
        ),
      );
    } finally {
      fx.feedStatus = 200;
      verifier.close();
    }
  });
});

describe('introspection (RFC 7662)', () => {
  const introspection = (cacheSeconds?: number) => ({
    url: `${fx.issuer}/introspect`,
    ...feedClient,
    cacheSeconds,
  });

  test('accepts an active token, caches the answer for cacheSeconds, and sends client_secret_basic', async () => {
    const c = clock();
    const { verifier } = observed({ now: c.now, introspection: introspection(10) });
    const token = await fx.sign();
    const before = fx.counts.introspect;
    await verifier.verifyToken(token);
    await verifier.verifyToken(token);
    assert.equal(fx.counts.introspect - before, 1);
    c.advance(10);
    await verifier.verifyToken(token);
    assert.equal(fx.counts.introspect - before, 2);
    const request = fx.introspectRequests.at(-1)!;
    assert.equal(request.authorization, basic(feedClient.clientId, feedClient.clientSecret));
    assert.equal(request.contentType, 'application/x-www-form-urlencoded');
    assert.equal(request.body, `token=${token}&token_type_hint=access_token`);
  });

  test('{active:false} is invalid_token "The access token is not active", even for a cached token', async () => {
    const c = clock();
    const { verifier } = observed({ now: c.now, introspection: introspection(5) });
    const token = await fx.sign({ claims: { jti: 'soon-inactive' } });
    await verifier.verifyToken(token);
    fx.inactive.add('soon-inactive');
    c.advance(5);
    const error = await rejection(verifier.verifyToken(token));
    assert.deepStrictEqual(
      verifier.errorResponse(error),
      invalidToken('The access token is not active'),
    );
  });

  test('an unreachable endpoint fails closed with 503', async () => {
    const { verifier } = observed({
      introspection: { url: `${fx.issuer}/nowhere`, ...feedClient },
    });
    const error = (await rejection(verifier.verifyToken(await fx.sign()))) as VerifierError;
    assert.equal(error.status, 503);
  });
});

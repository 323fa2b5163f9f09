import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createVerifier } from '../src/index.js';
import type { VerifierEvent, VerifierError } from '../src/index.js';
import { audience, clock, invalidToken, makeKey, rejection, startFixture } from './fixture.js';

describe('jwks cache: discovery, Cache-Control and unknown kid refetch', () => {
  test('discovers jwks_uri from RFC 8414 metadata and fetches the JWKS once', async () => {
    const fx = await startFixture();
    try {
      const events: VerifierEvent[] = [];
      const verifier = createVerifier({
        issuer: fx.issuer,
        audience,
        now: clock().now,
        onEvent: (e) => events.push(e),
      });
      await Promise.all([
        verifier.verifyToken(await fx.sign()),
        verifier.verifyToken(await fx.sign({ alg: 'ES256' })),
      ]);
      await verifier.verifyToken(await fx.sign({ alg: 'EdDSA' }));
      assert.deepEqual(fx.counts, {
        jwks: 1,
        oauthMetadata: 1,
        openidMetadata: 0,
        feed: 0,
        introspect: 0,
      });
      assert.deepEqual(
        events.find((e) => e.type === 'discovery'),
        {
          type: 'discovery',
          metadataUri: `${fx.issuer}/.well-known/oauth-authorization-server`,
          jwksUri: `${fx.issuer}/jwks`,
        },
      );
      const fetch = events.find((e) => e.type === 'jwks_fetch');
      assert.ok(fetch?.type === 'jwks_fetch');
      assert.deepEqual(
        { ...fetch, durationMs: 0 },
        {
          type: 'jwks_fetch',
          uri: `${fx.issuer}/jwks`,
          trigger: 'initial',
          keys: 3,
          maxAge: 300,
          durationMs: 0,
        },
      );
    } finally {
      await fx.close();
    }
  });

  test('falls back to OpenID Connect discovery', async () => {
    const fx = await startFixture({ oauthMetadata: false });
    try {
      const verifier = createVerifier({ issuer: fx.issuer, audience, now: clock().now });
      await verifier.verifyToken(await fx.sign());
      assert.deepEqual(fx.counts, {
        jwks: 1,
        oauthMetadata: 1,
        openidMetadata: 1,
        feed: 0,
        introspect: 0,
      });
    } finally {
      await fx.close();
    }
  });

  test('refuses metadata naming another issuer (RFC 8414 §3.3): 503, keys never fetched', async () => {
    const fx = await startFixture({ metadataIssuer: 'https://evil.example.test' });
    try {
      const verifier = createVerifier({ issuer: fx.issuer, audience, now: clock().now });
      const error = await rejection(verifier.verifyToken(await fx.sign()));
      assert.deepStrictEqual(verifier.errorResponse(error), {
        status: 503,
        headers: { 'cache-control': 'no-store', 'content-type': 'application/json' },
        body: {
          error: 'temporarily_unavailable',
          error_description: 'The token verifier is temporarily unavailable',
        },
      });
      assert.equal(fx.counts.jwks, 0);
    } finally {
      await fx.close();
    }
  });

  test('honours Cache-Control max-age, then refetches', async () => {
    const fx = await startFixture({ cacheControl: 'max-age=60' });
    try {
      const c = clock();
      const verifier = createVerifier({
        issuer: fx.issuer,
        audience,
        jwksUri: `${fx.issuer}/jwks`,
        now: c.now,
        tokenCacheSize: 0,
      });
      await verifier.verifyToken(await fx.sign());
      c.advance(59);
      await verifier.verifyToken(await fx.sign({ now: 1_800_000_059 }));
      assert.equal(fx.counts.jwks, 1);
      c.advance(1);
      await verifier.verifyToken(await fx.sign({ now: 1_800_000_060 }));
      assert.equal(fx.counts.jwks, 2);
      assert.equal(fx.counts.oauthMetadata, 0, 'jwksUri given: no discovery');
    } finally {
      await fx.close();
    }
  });

  test('a flood of 1,000 random kids fetches at most once per cooldown', async () => {
    const fx = await startFixture();
    try {
      const c = clock();
      const verifier = createVerifier({
        issuer: fx.issuer,
        audience,
        now: c.now,
        jwksCooldownMs: 30_000,
      });
      await verifier.verifyToken(await fx.sign());
      assert.equal(fx.counts.jwks, 1);
      const template = (await fx.sign()).split('.');
      const flood = (n: number) =>
        Array.from({ length: n }, () => {
          const header = Buffer.from(
            JSON.stringify({ alg: 'RS256', typ: 'at+jwt', kid: crypto.randomUUID() }),
          ).toString('base64url');
          return verifier.verifyToken(`${header}.${template[1]}.${template[2]}`).then(
            () => assert.fail('accepted'),
            (e: unknown) => assert.equal((e as VerifierError).reason, 'unknown_key'),
          );
        });
      await Promise.all(flood(1000)); // within the cooldown of the initial fetch
      assert.equal(fx.counts.jwks, 1);
      c.advance(30);
      await Promise.all(flood(1000)); // concurrent: they share one fetch
      assert.equal(fx.counts.jwks, 2);
      for (const p of flood(1000)) await p; // sequential, same cooldown window
      assert.equal(fx.counts.jwks, 2);
      c.advance(30);
      for (const p of flood(1000)) await p;
      assert.equal(fx.counts.jwks, 3);
    } finally {
      await fx.close();
    }
  });

  test('a rotated-in key is picked up by one refetch after the cooldown', async () => {
    const fx = await startFixture();
    try {
      const c = clock();
      const verifier = createVerifier({ issuer: fx.issuer, audience, now: c.now });
      await verifier.verifyToken(await fx.sign());
      const next = await makeKey('RS256', 'rsa-2');
      fx.jwks.keys.push(next.publicJwk);
      fx.keys.RS256 = next;
      const token = await fx.sign();
      assert.deepStrictEqual(
        ((await rejection(verifier.verifyToken(token))) as VerifierError).toResponse(),
        invalidToken('The access token signing key is unknown'),
      );
      c.advance(30);
      assert.equal((await verifier.verifyToken(token)).header.kid, 'rsa-2');
      assert.equal(fx.counts.jwks, 2);
    } finally {
      await fx.close();
    }
  });

  test('keeps the previous keys when a refresh fails', async () => {
    const fx = await startFixture({ cacheControl: 'max-age=60' });
    try {
      const c = clock();
      const events: VerifierEvent[] = [];
      const verifier = createVerifier({
        issuer: fx.issuer,
        audience,
        now: c.now,
        tokenCacheSize: 0,
        onEvent: (e) => events.push(e),
      });
      await verifier.verifyToken(await fx.sign());
      fx.jwksStatus = 500;
      c.advance(61);
      await verifier.verifyToken(await fx.sign({ now: 1_800_000_061 }));
      assert.ok(
        events.some(
          (e) =>
            e.type === 'jwks_error' &&
            e.usingStaleKeys &&
            e.message === `GET ${fx.issuer}/jwks: HTTP 500`,
        ),
      );
      await verifier.verifyToken(await fx.sign({ now: 1_800_000_061 }));
      assert.equal(fx.counts.jwks, 2, 'retries only after the cooldown');
    } finally {
      await fx.close();
    }
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SignJWT, base64url, exportSPKI, importJWK } from 'jose';
import { VerifierConfigError, VerifierError, createVerifier } from '../src/index.js';
import type { VerifierEvent, VerifierOptions } from '../src/index.js';
import { audience, clock, invalidToken, rejection, startFixture, t0 } from './fixture.js';
import type { Fixture } from './fixture.js';

let fx: Fixture;
before(async () => {
  fx = await startFixture();
});
after(() => fx.close());

function encode(value: unknown): string {
  return base64url.encode(JSON.stringify(value));
}

for (const signatureBackend of ['auto', 'jose'] as const) {
  describe(`verifier: RFC 9068 token validation (${signatureBackend} backend)`, () => {
    const events: VerifierEvent[] = [];
    const make = (extra: Partial<VerifierOptions> = {}) =>
      createVerifier({
        issuer: fx.issuer,
        audience,
        now: clock().now,
        signatureBackend,
        requiredScopes: ['orders:read'],
        onEvent: (e) => events.push(e),
        ...extra,
      });

    for (const alg of ['RS256', 'ES256', 'EdDSA'] as const) {
      test(`accepts a valid ${alg} token and exposes its claims`, async () => {
        const token = await fx.sign({ alg, claims: { jti: `good-${alg}` } });
        const verified = await make().verifyToken(token);
        assert.equal(verified.claims.jti, `good-${alg}`);
        assert.equal(verified.claims.client_id, 'client-42');
        assert.deepEqual(verified.scopes, ['orders:read', 'orders:write']);
        assert.deepEqual(verified.header, { alg, kid: fx.keys[alg].kid, typ: 'at+jwt' });
        assert.ok(Object.isFrozen(verified.claims));
      });
    }

    test('accepts typ application/at+jwt', async () => {
      const token = await fx.sign({ typ: 'application/at+jwt' });
      assert.equal((await make().verifyToken(token)).header.typ, 'application/at+jwt');
    });

    test('verify(Request) reads the Authorization header', async () => {
      const token = await fx.sign();
      const request = new Request('http://api.test/orders', {
        headers: { authorization: `Bearer ${token}` },
      });
      assert.equal((await make().verify(request)).claims.sub, 'client-42');
    });

    const cases: [string, () => Promise<string>, string][] = [
      [
        'expired',
        () => fx.sign({ claims: { iat: t0 - 400, exp: t0 - 5 } }),
        'The access token expired',
      ],
      [
        'not yet valid (nbf)',
        () => fx.sign({ claims: { nbf: t0 + 60 } }),
        'The access token is not yet valid',
      ],
      [
        'issued in the future (iat)',
        () => fx.sign({ claims: { iat: t0 + 60 } }),
        'The access token is not yet valid',
      ],
      [
        'wrong aud',
        () => fx.sign({ claims: { aud: 'https://other.example.test' } }),
        'The access token audience is not accepted',
      ],
      [
        'wrong iss',
        () => fx.sign({ claims: { iss: 'https://evil.example.test' } }),
        'The access token issuer is not accepted',
      ],
      ['wrong typ', () => fx.sign({ typ: 'JWT' }), 'The access token type is not accepted'],
      [
        'no typ',
        async () => {
          const token = await fx.sign();
          const [, payload, sig] = token.split('.');
          return `${encode({ alg: 'RS256', kid: 'rsa-1' })}.${payload}.${sig}`;
        },
        'The access token type is not accepted',
      ],
      [
        'alg none',
        async () => `${encode({ alg: 'none', typ: 'at+jwt' })}.${(await fx.sign()).split('.')[1]}.`,
        'The access token algorithm is not accepted',
      ],
      [
        'HS256 keyed with the RSA public key PEM',
        async () => {
          const pem = await exportSPKI(
            (await importJWK(fx.keys.RS256.publicJwk, 'RS256', { extractable: true })) as CryptoKey,
          );
          return new SignJWT({
            iss: fx.issuer,
            aud: audience,
            sub: 'x',
            client_id: 'x',
            jti: 'x',
            iat: t0,
            exp: t0 + 60,
            scope: 'orders:read',
          })
            .setProtectedHeader({ alg: 'HS256', kid: 'rsa-1', typ: 'at+jwt' })
            .sign(new TextEncoder().encode(pem));
        },
        'The access token algorithm is not accepted',
      ],
      [
        'HS256 keyed with the RSA public JWK bytes',
        () =>
          new SignJWT({
            iss: fx.issuer,
            aud: audience,
            sub: 'x',
            client_id: 'x',
            jti: 'x',
            iat: t0,
            exp: t0 + 60,
            scope: 'orders:read',
          })
            .setProtectedHeader({ alg: 'HS256', kid: 'rsa-1', typ: 'at+jwt' })
            .sign(new TextEncoder().encode(JSON.stringify(fx.keys.RS256.publicJwk))),
        'The access token algorithm is not accepted',
      ],
      [
        'tampered payload',
        async () => {
          const [header, , sig] = (await fx.sign({ claims: { scope: 'orders:read' } })).split('.');
          const forged = encode({
            iss: fx.issuer,
            aud: audience,
            sub: 'admin',
            client_id: 'admin',
            jti: 'j',
            iat: t0,
            exp: t0 + 60,
            scope: 'orders:read admin',
          });
          return `${header}.${forged}.${sig}`;
        },
        'The access token signature is invalid',
      ],
      [
        'signature of another key with the same kid',
        async () => {
          const [header, payload] = (await fx.sign({ alg: 'ES256' })).split('.');
          const other = (await fx.sign({ alg: 'ES256' })).split('.')[2];
          return `${header}.${payload}.${other}`;
        },
        'The access token signature is invalid',
      ],
      [
        'unknown kid',
        () => fx.sign({ kid: 'no-such-key' }),
        'The access token signing key is unknown',
      ],
      ['not a JWS', async () => 'not-a-jwt', 'The access token is malformed'],
      [
        'payload not JSON',
        async () => {
          const [header, , sig] = (await fx.sign()).split('.');
          return `${header}.${base64url.encode('nope')}.${sig}`;
        },
        'The access token signature is invalid',
      ],
      ['missing jti', () => fx.sign({ omit: ['jti'] }), 'The access token is malformed'],
      ['missing exp', () => fx.sign({ omit: ['exp'] }), 'The access token is malformed'],
      [
        'crit header',
        async () => {
          const [, payload, sig] = (await fx.sign()).split('.');
          return `${encode({ alg: 'RS256', kid: 'rsa-1', typ: 'at+jwt', crit: ['x'], x: 1 })}.${payload}.${sig}`;
        },
        'The access token is malformed',
      ],
    ];
    for (const [name, build, description] of cases) {
      test(`rejects ${name} with the exact RFC 6750 response`, async () => {
        const token = await build();
        events.length = 0;
        const verifier = make();
        const error = await rejection(
          verifier.verify(
            new Request('http://api.test/', { headers: { authorization: `Bearer ${token}` } }),
          ),
        );
        assert.ok(error instanceof VerifierError);
        assert.deepStrictEqual(verifier.errorResponse(error), invalidToken(description));
        assert.deepStrictEqual(error.toResponse(), invalidToken(description));
        // The token never leaks into what the host may log.
        for (const text of [
          error.message,
          error.detail ?? '',
          JSON.stringify(verifier.errorResponse(error)),
          JSON.stringify(events),
        ]) {
          assert.ok(!text.includes(token.split('.')[2] || token), 'token leaked');
        }
      });
    }

    test('rejects alg none and HS256 before fetching any key', async () => {
      const before = fx.counts.jwks;
      const verifier = make();
      const none = `${encode({ alg: 'none', typ: 'at+jwt' })}.${(await fx.sign()).split('.')[1]}.`;
      const hs = await new SignJWT({})
        .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt' })
        .sign(new Uint8Array(32));
      for (const token of [none, hs])
        assert.equal(
          ((await rejection(verifier.verifyToken(token))) as VerifierError).reason,
          'algorithm',
        );
      assert.equal(fx.counts.jwks, before);
    });

    test('rejects an algorithm outside a narrowed allowlist', async () => {
      const error = await rejection(
        make({ algorithms: ['RS256'] }).verifyToken(await fx.sign({ alg: 'ES256' })),
      );
      assert.deepStrictEqual(
        (error as VerifierError).toResponse(),
        invalidToken('The access token algorithm is not accepted'),
      );
    });

    test('accepts the clock tolerance and no more', async () => {
      const c = clock();
      const verifier = make({ now: c.now, clockTolerance: 5, tokenCacheSize: 0 });
      const token = await fx.sign({ claims: { exp: t0 - 4 } });
      await verifier.verifyToken(token);
      c.advance(1);
      assert.equal(
        ((await rejection(verifier.verifyToken(token))) as VerifierError).reason,
        'expired',
      );
    });

    test('missing scope is 403 insufficient_scope naming every required scope', async () => {
      const verifier = make({ requiredScopes: ['orders:read', 'admin'] });
      const error = await rejection(verifier.verifyToken(await fx.sign()));
      assert.deepStrictEqual(verifier.errorResponse(error), {
        status: 403,
        headers: {
          'cache-control': 'no-store',
          'www-authenticate':
            'Bearer realm="https://api.example.test", error="insufficient_scope", error_description="The request requires higher privileges than provided by the access token", scope="orders:read admin"',
          'content-type': 'application/json',
        },
        body: {
          error: 'insufficient_scope',
          error_description:
            'The request requires higher privileges than provided by the access token',
        },
      });
    });

    test('per-call required scopes add to the verifier ones', async () => {
      const verifier = make();
      const token = await fx.sign({ claims: { scope: 'orders:read' } });
      await verifier.verifyToken(token);
      const error = (await rejection(
        verifier.verifyToken(token, { requiredScopes: ['orders:write'] }),
      )) as VerifierError;
      assert.deepEqual(error.scope, ['orders:read', 'orders:write']);
    });
  });
}

describe('verifier: configuration', () => {
  test('refuses none and HS* in the allowlist, naming the option', () => {
    for (const alg of ['none', 'HS256']) {
      assert.throws(
        () => createVerifier({ issuer: 'https://as.test', audience, algorithms: [alg as 'RS256'] }),
        (e: unknown) => e instanceof VerifierConfigError && e.option === 'algorithms',
      );
    }
  });

  test('refuses a missing audience and a non-URL issuer', () => {
    assert.throws(() => createVerifier({ issuer: 'https://as.test', audience: [] }), /audience/);
    assert.throws(() => createVerifier({ issuer: 'as.test', audience }), /issuer/);
  });

  test('a config error never echoes a client secret', () => {
    try {
      createVerifier({
        issuer: 'https://as.test',
        audience,
        introspection: { url: 'nope', clientId: 'c', clientSecret: 'hunter2-secret' },
      });
      assert.fail('expected a throw');
    } catch (error) {
      assert.ok(error instanceof VerifierConfigError);
      assert.ok(!error.message.includes('hunter2'));
    }
  });
});

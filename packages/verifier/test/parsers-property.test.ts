// Property tests over the parsers that take network input: the Authorization header and the
// compact JWS. Whatever arrives, the verifier answers with a VerifierError (never another
// exception, never an acceptance) and never echoes the input.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { base64url } from 'jose';
import { VerifierError, createVerifier } from '../src/index.js';
import { audience, clock, makeKey } from './fixture.js';

const key = await makeKey('RS256', 'rsa-1');
const jwks = JSON.stringify({ keys: [key.publicJwk] });
let fetches = 0;
const verifier = createVerifier({
  issuer: 'https://as.example.test',
  audience,
  now: clock().now,
  jwksUri: 'https://as.example.test/jwks',
  fetch: async () => {
    fetches += 1;
    return new Response(jwks, { headers: { 'content-type': 'application/json' } });
  },
});

async function refusal(run: () => Promise<unknown>, input: string): Promise<VerifierError> {
  try {
    await run();
  } catch (error) {
    assert.ok(error instanceof VerifierError, `unexpected ${String(error)}`);
    assert.notEqual(error.reason, 'internal');
    // Short inputs occur in the fixed texts by chance ("Bearer ", "token"); real tokens are long.
    if (input.trim().length >= 12) {
      assert.ok(!error.message.includes(input));
      assert.ok(!JSON.stringify(verifier.errorResponse(error)).includes(input));
    }
    return error;
  }
  assert.fail('accepted');
}

const segment = (value: unknown) => base64url.encode(JSON.stringify(value));

describe('parsers: property tests', () => {
  test('any Authorization header value is refused with a 400 or 401 VerifierError', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string(),
          fc.string().map((s) => `Bearer ${s}`),
        ),
        async (header) => {
          const error = await refusal(
            () => verifier.verifyAuthorization(header),
            header.replace(/^Bearer /, ''),
          );
          assert.ok([400, 401].includes(error.status));
        },
      ),
      { numRuns: 500 },
    );
  });

  test('any compact JWS with arbitrary header and payload JSON is refused as invalid_token', async () => {
    const json = fc.jsonValue();
    const header = fc.oneof(
      json,
      fc.record({
        alg: fc.constantFrom('RS256', 'none', 'HS256', 'ES256'),
        typ: fc.constantFrom('at+jwt', 'JWT'),
        kid: fc.constantFrom('rsa-1', 'x'),
      }),
    );
    await fc.assert(
      fc.asyncProperty(header, json, fc.base64String(), async (h, p, s) => {
        const token = `${segment(h)}.${segment(p)}.${s.replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_')}`;
        const error = await refusal(() => verifier.verifyToken(token), token);
        assert.equal(error.error, 'invalid_token');
      }),
      { numRuns: 500 },
    );
    assert.ok(fetches <= 2, 'garbage never causes more than the initial fetch and one refetch');
  });
});

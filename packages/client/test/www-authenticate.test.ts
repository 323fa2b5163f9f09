import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { isBearerInvalidToken, parseChallenges } from '../src/lib/www-authenticate.js';

describe('WWW-Authenticate parsing', () => {
  test('finds RFC 6750 invalid_token among challenges', () => {
    assert.equal(isBearerInvalidToken('Bearer error="invalid_token"'), true);
    assert.equal(
      isBearerInvalidToken(
        'Bearer realm="api", error="invalid_token", error_description="The access token expired"',
      ),
      true,
    );
    assert.equal(isBearerInvalidToken('bearer error=invalid_token'), true);
    assert.equal(
      isBearerInvalidToken('Basic realm="x", Bearer realm="y", error="invalid_token"'),
      true,
    );
    assert.equal(isBearerInvalidToken('DPoP error="invalid_token", Bearer realm="y"'), false);
    assert.equal(isBearerInvalidToken('Bearer error="insufficient_scope"'), false);
    assert.equal(isBearerInvalidToken('Bearer realm="a \\"error=invalid_token\\""'), false);
    assert.equal(isBearerInvalidToken(null), false);
    assert.deepEqual(parseChallenges('Bearer realm="x", DPoP algs="ES256 PS256"'), [
      { scheme: 'bearer', params: { realm: 'x' } },
      { scheme: 'dpop', params: { algs: 'ES256 PS256' } },
    ]);
  });

  test('never throws or hangs on arbitrary input', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (header) => {
        parseChallenges(header);
        isBearerInvalidToken(header);
      }),
      { numRuns: 2000 },
    );
  });
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { VerifierError, createVerifier } from '../src/index.js';
import { audience, rejection } from './fixture.js';

// No key is ever needed: every case is decided by the header alone.
const verifier = createVerifier({ issuer: 'https://as.example.test', audience, realm: 'orders' });

async function responseFor(header: string | string[] | undefined) {
  const error = await rejection(verifier.verifyAuthorization(header));
  assert.ok(error instanceof VerifierError);
  return verifier.errorResponse(error);
}

const badRequest = (description: string) => ({
  status: 400,
  headers: {
    'cache-control': 'no-store',
    'www-authenticate': `Bearer realm="orders", error="invalid_request", error_description="${description}"`,
    'content-type': 'application/json',
  },
  body: { error: 'invalid_request', error_description: description },
});

describe('authorization header (RFC 6750 §2.1, §3.1)', () => {
  for (const header of [undefined, '', '   ']) {
    test(`no token (${JSON.stringify(header)}): 401 with a bare challenge, no error code`, async () => {
      assert.deepStrictEqual(await responseFor(header), {
        status: 401,
        headers: { 'cache-control': 'no-store', 'www-authenticate': 'Bearer realm="orders"' },
        body: undefined,
      });
    });
  }

  const malformed: [string, string | string[]][] = [
    ['another scheme with a token', 'Basic Zm9vOmJhcg=='],
    ['Bearer without a token', 'Bearer'],
    ['Bearer with only spaces', 'Bearer    '],
    ['a token outside the b64token syntax', 'Bearer abc!def'],
  ];
  for (const [name, header] of malformed) {
    test(`${name}: 400 invalid_request`, async () => {
      assert.deepStrictEqual(
        await responseFor(header),
        badRequest('The Authorization header is malformed'),
      );
    });
  }

  const multiple: [string, string | string[]][] = [
    ['two tokens in one header', 'Bearer abc def'],
    ['two Bearer credentials joined by a comma', 'Bearer abc, Bearer def'],
    ['two header values', ['Bearer abc', 'Bearer def']],
  ];
  for (const [name, header] of multiple) {
    test(`${name}: 400 invalid_request`, async () => {
      assert.deepStrictEqual(
        await responseFor(header),
        badRequest('The request carries more than one access token'),
      );
    });
  }

  test('two Authorization headers on a fetch Request are refused', async () => {
    const headers = new Headers();
    headers.append('authorization', 'Bearer abc');
    headers.append('authorization', 'Bearer def');
    const error = (await rejection(
      verifier.verify(new Request('http://api.test/', { headers })),
    )) as VerifierError;
    assert.equal(error.reason, 'multiple_tokens');
  });

  test('the scheme is case-insensitive; the token then goes on to verification', async () => {
    const error = (await rejection(verifier.verifyAuthorization('bEaReR abc'))) as VerifierError;
    assert.equal(error.reason, 'malformed'); // reached the JWS parser
  });

  test('a realm with quotes cannot break the challenge', async () => {
    const odd = createVerifier({ issuer: 'https://as.example.test', audience, realm: 'a"b\\c' });
    const error = await rejection(odd.verifyAuthorization(undefined));
    assert.equal(odd.errorResponse(error).headers['www-authenticate'], 'Bearer realm="a\\"b\\\\c"');
  });
});

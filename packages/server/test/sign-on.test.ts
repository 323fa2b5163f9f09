/**
 * `--sign-on` (issue 24): sealed keys sign on the libuv pool, or synchronously on the event
 * loop; both give the same verifiable JWS, and only the pool needs a turn of the loop.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, verify, type KeyObject } from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { describe, it } from 'node:test';
import type { SigningAlgorithm } from '@tessera/protocol';
import { JwsSigner } from '../src/keys/jws-signer.js';

const keyPairs: Record<string, () => { privateKey: KeyObject; publicKey: KeyObject }> = {
  RS256: () => generateKeyPairSync('rsa', { modulusLength: 2048 }),
  PS256: () => generateKeyPairSync('rsa', { modulusLength: 2048 }),
  ES256: () => generateKeyPairSync('ec', { namedCurve: 'P-256' }),
  EdDSA: () => generateKeyPairSync('ed25519'),
};

function verifies(alg: string, token: string, publicKey: KeyObject): boolean {
  const [header, payload, signature] = token.split('.') as [string, string, string];
  const input = Buffer.from(`${header}.${payload}`);
  const sig = Buffer.from(signature, 'base64url');
  if (alg === 'EdDSA') return verify(null, input, publicKey, sig);
  if (alg === 'ES256')
    return verify('sha256', input, { key: publicKey, dsaEncoding: 'ieee-p1363' }, sig);
  if (alg === 'PS256')
    return verify('sha256', input, { key: publicKey, padding: 6, saltLength: 32 }, sig);
  return verify('sha256', input, publicKey, sig);
}

describe('--sign-on', () => {
  for (const alg of ['RS256', 'PS256', 'ES256', 'EdDSA'] as SigningAlgorithm[]) {
    it(`${alg}: both places sign the same verifiable token; only the pool needs a loop turn`, async () => {
      const { privateKey, publicKey } = keyPairs[alg]!();
      const payload = { iss: 'https://issuer.example', sub: 'c1', iat: 1, exp: 2, jti: 'j' };
      for (const onEventLoop of [true, false]) {
        const signer = new JwsSigner('kid-1', alg, privateKey, 'at+jwt', onEventLoop);
        let settled = false;
        const signing = signer.sign(payload).then((token) => {
          settled = true;
          return token;
        });
        // Microtasks only: a signature done on the loop is already there; one on the pool
        // comes back through a later turn of the loop.
        for (let i = 0; i < 3; i++) await Promise.resolve();
        assert.equal(
          settled,
          onEventLoop,
          `settled before a loop turn (onEventLoop ${onEventLoop})`,
        );
        await nextTurn();
        const token = await signing;
        const [header, body] = token.split('.') as [string, string];
        assert.deepEqual(JSON.parse(Buffer.from(header, 'base64url').toString()), {
          alg,
          typ: 'at+jwt',
          kid: 'kid-1',
        });
        assert.deepEqual(JSON.parse(Buffer.from(body, 'base64url').toString()), payload);
        assert.ok(
          verifies(alg, token, publicKey),
          `${alg} signature verifies (onEventLoop ${onEventLoop})`,
        );
      }
    });
  }

  it('a key that cannot sign rejects the promise on the event loop too (never throws)', async () => {
    // An X25519 key cannot sign: node:crypto refuses it synchronously on the event loop.
    const { privateKey } = generateKeyPairSync('x25519');
    const signer = new JwsSigner('kid-2', 'EdDSA', privateKey, 'at+jwt', true);
    let result: Promise<string> | undefined;
    assert.doesNotThrow(() => {
      result = signer.sign({ sub: 'c1' });
    });
    await assert.rejects(result!);
  });
});

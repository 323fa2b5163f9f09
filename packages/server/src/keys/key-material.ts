import { calculateJwkThumbprint } from 'jose';
import { createPrivateKey, createPublicKey, generateKeyPair, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import type { SigningAlgorithm } from '@tessera/protocol';
import type { KeyEncryptionKey } from '../lib/kek.js';
import type { GeneratedKey } from './key-store.js';

const generate = promisify(generateKeyPair);

async function generatePrivateKey(alg: SigningAlgorithm): Promise<KeyObject> {
  switch (alg) {
    case 'RS256':
    case 'PS256':
      return (await generate('rsa', { modulusLength: 2048 })).privateKey;
    case 'ES256':
      return (await generate('ec', { namedCurve: 'P-256' })).privateKey;
    case 'EdDSA':
      return (await generate('ed25519')).privateKey;
  }
}

/** The associated data binds a sealed private key to its kid, so envelopes cannot be swapped. */
export const sealContext = (kid: string) => `signing-key:${kid}`;

/** Generates a key pair with node:crypto and seals its private half under the KEK. */
export async function generateSealedKey(
  alg: SigningAlgorithm,
  kek: KeyEncryptionKey,
): Promise<GeneratedKey> {
  const privateKey = await generatePrivateKey(alg);
  const jwk = createPublicKey(privateKey).export({ format: 'jwk' }) as JsonWebKey;
  const { kid, publicJwk } = await publicSigningJwk(jwk, alg);
  const der = privateKey.export({ format: 'der', type: 'pkcs8' });
  return {
    kid,
    alg,
    publicJwk,
    location: { store: 'sealed', encryptedPrivateKey: kek.seal(der, sealContext(kid)) },
  };
}

/** The public JWK as the JWKS serves it: kid = RFC 7638 thumbprint, `alg`, `use: "sig"`. */
export async function publicSigningJwk(
  jwk: JsonWebKey,
  alg: SigningAlgorithm,
): Promise<{ kid: string; publicJwk: JsonWebKey }> {
  const kid = await calculateJwkThumbprint(jwk as Parameters<typeof calculateJwkThumbprint>[0]);
  return { kid, publicJwk: { ...jwk, kid, alg, use: 'sig' } as JsonWebKey };
}

export function openSealedKey(kid: string, envelope: string, kek: KeyEncryptionKey): KeyObject {
  const der = kek.open(envelope, sealContext(kid));
  return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
}

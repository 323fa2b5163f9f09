import { calculateJwkThumbprint } from 'jose';
import { createPrivateKey, createPublicKey, generateKeyPair, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import type { SigningAlgorithm } from '@tessera/protocol';
import type { KeyEncryptionKey } from '../lib/kek.js';
import type { KeyRecord, KeyState } from '../store/contract.js';

const generate = promisify(generateKeyPair);

async function generatePrivateKey(alg: SigningAlgorithm): Promise<KeyObject> {
  switch (alg) {
    case 'RS256':
      return (await generate('rsa', { modulusLength: 2048 })).privateKey;
    case 'ES256':
      return (await generate('ec', { namedCurve: 'P-256' })).privateKey;
    case 'EdDSA':
      return (await generate('ed25519')).privateKey;
  }
}

/** The associated data binds a sealed private key to its kid, so envelopes cannot be swapped. */
export const sealContext = (kid: string) => `signing-key:${kid}`;

/** Generates a key pair and the record that stores it (private half sealed under the KEK). */
export async function createKeyRecord(
  alg: SigningAlgorithm,
  kek: KeyEncryptionKey,
  state: KeyState,
  now: number,
  activatesAt: number | null = null,
): Promise<KeyRecord> {
  const privateKey = await generatePrivateKey(alg);
  const jwk = createPublicKey(privateKey).export({ format: 'jwk' }) as JsonWebKey;
  const kid = await calculateJwkThumbprint(jwk as Parameters<typeof calculateJwkThumbprint>[0]);
  const publicJwk: JsonWebKey = { ...jwk, kid, alg, use: 'sig' } as JsonWebKey;
  const der = privateKey.export({ format: 'der', type: 'pkcs8' });
  return {
    kid,
    alg,
    state,
    publicJwk,
    encryptedPrivateKey: kek.seal(der, sealContext(kid)),
    createdAt: now,
    activatesAt,
    retiresAt: null,
  };
}

export function openPrivateKey(record: KeyRecord, kek: KeyEncryptionKey): KeyObject {
  const der = kek.open(record.encryptedPrivateKey, sealContext(record.kid));
  return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
}

import type { KeyHandle, KeyRecord } from '../store/contract.js';
import type { GeneratedKey, KeyLocation, KeyStoreKind } from './key-store.js';

/** Where a stored key's private half lives, from its record. */
export function keyLocation(record: KeyRecord): KeyLocation {
  return record.keyHandle
    ? {
        store: 'pkcs11',
        tokenLabel: record.keyHandle.tokenLabel,
        keyLabel: record.keyHandle.keyLabel,
      }
    : { store: 'sealed', encryptedPrivateKey: record.encryptedPrivateKey };
}

/** The record fields that say where a generated key lives. */
function locationFields(
  location: KeyLocation,
): Pick<KeyRecord, 'encryptedPrivateKey' | 'keyHandle'> {
  if (location.store === 'sealed') return { encryptedPrivateKey: location.encryptedPrivateKey };
  const keyHandle: KeyHandle = {
    store: 'pkcs11',
    tokenLabel: location.tokenLabel,
    keyLabel: location.keyLabel,
  };
  return { encryptedPrivateKey: '', keyHandle };
}

/** The record that stores a freshly generated key. */
export function keyRecordFor(
  key: GeneratedKey,
  state: KeyRecord['state'],
  now: number,
  activatesAt: number | null = null,
): KeyRecord {
  return {
    kid: key.kid,
    alg: key.alg,
    state,
    publicJwk: key.publicJwk,
    ...locationFields(key.location),
    createdAt: now,
    activatesAt,
    retiresAt: null,
  };
}

/** `sealed` or `pkcs11`, and the token's label for a PKCS#11 key (`tessera keys list`). */
export function keyStoreOf(record: KeyRecord): { store: KeyStoreKind; tokenLabel: string | null } {
  return record.keyHandle
    ? { store: record.keyHandle.store, tokenLabel: record.keyHandle.tokenLabel }
    : { store: 'sealed', tokenLabel: null };
}

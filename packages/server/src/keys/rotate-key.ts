import type { SigningAlgorithm } from '@tessera/protocol';
import type { KeyEncryptionKey } from '../lib/kek.js';
import type { KeyRecord, Store } from '../store/contract.js';
import { createKeyRecord } from './key-material.js';
import { rotationDue } from './key-schedule.js';

/**
 * Starts a rotation: a new key is published in the JWKS at once and starts signing only
 * after `propagationSeconds` (default: the JWKS cache lifetime), so every verifier has seen it
 * before the first token it signed reaches them.
 */
export async function rotateKey(
  store: Store,
  kek: KeyEncryptionKey,
  alg: SigningAlgorithm,
  now: number,
  propagationSeconds: number,
  onlyIfDueAfterDays?: number,
): Promise<KeyRecord | undefined> {
  // Timestamps are whole seconds: one more second makes the wait at least the full delay.
  const candidate = await createKeyRecord(alg, kek, 'published', now, now + propagationSeconds + 1);
  const inserted = await store.transitionKeys((keys) =>
    onlyIfDueAfterDays !== undefined && !rotationDue(keys, alg, onlyIfDueAfterDays, now)
      ? { patches: [] }
      : { patches: [], insert: [candidate] },
  );
  return inserted ? candidate : undefined;
}

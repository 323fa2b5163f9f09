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
  nowSeconds: () => number,
  propagationSeconds: number,
  onlyIfDueAfterDays?: number,
): Promise<KeyRecord | undefined> {
  const candidate = await createKeyRecord(alg, kek, 'published', nowSeconds());
  const inserted = await store.transitionKeys((keys) => {
    // The delay counts from the moment the key is stored (key generation can take a while
    // on a loaded machine); whole-second timestamps get one more second so the wait is never
    // shorter than asked.
    const now = nowSeconds();
    if (onlyIfDueAfterDays !== undefined && !rotationDue(keys, alg, onlyIfDueAfterDays, now)) {
      return { patches: [] };
    }
    candidate.createdAt = now;
    candidate.activatesAt = now + propagationSeconds + 1;
    return { patches: [], insert: [candidate] };
  });
  return inserted ? candidate : undefined;
}

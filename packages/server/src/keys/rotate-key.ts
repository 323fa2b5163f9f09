import type { SigningAlgorithm } from '@tessera/protocol';
import type { KeyRecord, Store } from '../store/contract.js';
import { keyRecordFor } from './key-location.js';
import { rotationDue } from './key-schedule.js';
import type { KeyStore } from './key-store.js';

/**
 * Starts a rotation: a new key is published in the JWKS at once and starts signing only
 * after `propagationSeconds` (default: the JWKS cache lifetime), so every verifier has seen it
 * before the first token it signed reaches them. The key is generated in `keyStore` (sealed
 * under the KEK, or inside a PKCS#11 token).
 */
export async function rotateKey(
  store: Store,
  keyStore: KeyStore,
  alg: SigningAlgorithm,
  nowSeconds: () => number,
  propagationSeconds: number,
  onlyIfDueAfterDays?: number,
): Promise<KeyRecord | undefined> {
  const generated = await keyStore.generate(alg);
  const candidate = keyRecordFor(generated, 'published', nowSeconds());
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
  if (inserted) return candidate;
  // Not due after all (another instance rotated first): the token keeps no orphan key.
  await keyStore.destroy(generated.location);
  return undefined;
}

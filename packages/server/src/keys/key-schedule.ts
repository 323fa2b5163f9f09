import type { SigningAlgorithm } from '@tessera/protocol';
import type { KeyPatch, KeyRecord } from '../store/contract.js';

export interface KeyTimings {
  now: number;
  /** How long a retiring key stays in the JWKS: the longest token lifetime plus clock skew. */
  retireAfterSeconds: number;
}

/**
 * The key lifecycle as a pure function (ARCHITECTURE.md): a `published` key whose
 * `activatesAt` has come starts signing and the key it replaces becomes `retiring`; a
 * `retiring` key whose `retiresAt` has come is `retired` and leaves the JWKS.
 */
export function planKeyTransitions(keys: readonly KeyRecord[], timings: KeyTimings): KeyPatch[] {
  const { now, retireAfterSeconds } = timings;
  const patches: KeyPatch[] = [];
  const algorithms = new Set(keys.map((key) => key.alg));
  for (const alg of algorithms) {
    const ofAlg = keys.filter((key) => key.alg === alg);
    const due = ofAlg
      .filter(
        (key) => key.state === 'published' && key.activatesAt !== null && key.activatesAt <= now,
      )
      .sort((a, b) => b.activatesAt! - a.activatesAt! || b.createdAt - a.createdAt);
    const next = due[0];
    if (next) {
      patches.push({ kid: next.kid, state: 'active' });
      const replaced = [...ofAlg.filter((key) => key.state === 'active'), ...due.slice(1)];
      for (const key of replaced)
        patches.push({ kid: key.kid, state: 'retiring', retiresAt: now + retireAfterSeconds });
    }
    for (const key of ofAlg) {
      if (key.state === 'retiring' && key.retiresAt !== null && key.retiresAt <= now) {
        patches.push({ kid: key.kid, state: 'retired' });
      }
    }
  }
  return patches;
}

/** Whether `alg` is due for an automatic rotation: its active key is older than `days`. */
export function rotationDue(
  keys: readonly KeyRecord[],
  alg: SigningAlgorithm,
  days: number,
  now: number,
): boolean {
  if (keys.some((key) => key.alg === alg && key.state === 'published')) return false;
  const active = keys.find((key) => key.alg === alg && key.state === 'active');
  if (!active) return false;
  const since = active.activatesAt ?? active.createdAt;
  return now - since >= days * 86400;
}

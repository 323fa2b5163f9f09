import type { Logger } from 'pino';
import type { ServerConfig } from '../config.js';
import type { KeyEncryptionKey } from '../lib/kek.js';
import type { Preset } from '../presets/preset.js';
import type { Store } from '../store/contract.js';
import { planKeyTransitions, rotationDue } from './key-schedule.js';
import type { KeyRing } from './key-ring.js';
import { rotateKey } from './rotate-key.js';

/** Clock skew allowed on top of the longest token lifetime before a retiring key leaves the JWKS. */
const clockToleranceSeconds = 60;

export interface KeyMaintenanceOptions {
  store: Store;
  kek: KeyEncryptionKey;
  keys: KeyRing;
  /** Read on each run, so a changed setting takes effect at the next one. */
  config: Pick<ServerConfig, 'signingAlg' | 'keyRotationDays' | 'jwksMaxAge' | 'defaultTokenTtl'>;
  preset: Preset | undefined;
  logger: Logger;
  nowSeconds: () => number;
}

/**
 * One run of key maintenance: an automatic rotation when `keyRotationDays` says one is due,
 * then the due state transitions (published → active after the propagation delay, retiring →
 * retired once every token the key signed has expired). The server runs it every second.
 */
export function keyMaintenance(options: KeyMaintenanceOptions): () => Promise<void> {
  const { store, kek, keys, config, preset, logger, nowSeconds } = options;
  // The lifetime clients get now; read only when a key actually transitions.
  const longestTokenLifetime = async (): Promise<number> => {
    const serverDefault = preset?.defaultTokenTtl ?? config.defaultTokenTtl;
    // One aggregate, not every client: a million clients must not be loaded to retire a key.
    const { longest, someDefault } = await store.tokenLifetimes();
    if (longest === null) return serverDefault;
    return someDefault ? Math.max(longest, serverDefault) : longest;
  };
  return async () => {
    const now = nowSeconds();
    if (
      config.keyRotationDays !== undefined &&
      rotationDue(keys.records, config.signingAlg, config.keyRotationDays, now)
    ) {
      const rotated = await rotateKey(
        store,
        kek,
        config.signingAlg,
        nowSeconds,
        config.jwksMaxAge,
        config.keyRotationDays,
      );
      if (rotated) {
        await keys.reload();
        logger.info(
          { kid: rotated.kid, activatesAt: rotated.activatesAt },
          'scheduled key rotation: new key published',
        );
      }
    }
    if (planKeyTransitions(keys.records, { now, retireAfterSeconds: 0 }).length === 0) return;
    const retireAfterSeconds = (await longestTokenLifetime()) + clockToleranceSeconds;
    const changed = await store.transitionKeys((records) => ({
      patches: planKeyTransitions(records, { now, retireAfterSeconds }),
    }));
    if (changed) {
      await keys.reload();
      logger.info(
        { keys: keys.records.map((key) => ({ kid: key.kid, state: key.state })) },
        'signing keys transitioned',
      );
    }
  };
}

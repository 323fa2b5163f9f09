import type { Logger } from 'pino';
import type { ServerConfig } from '../config.js';
import type { Preset } from '../presets/preset.js';
import type { KeyPatch, Store } from '../store/contract.js';
import { keyLocation } from './key-location.js';
import { planKeyTransitions, rotationDue } from './key-schedule.js';
import type { KeyRing } from './key-ring.js';
import { rotateKey } from './rotate-key.js';

/** Clock skew allowed on top of the longest token lifetime before a retiring key leaves the JWKS. */
const clockToleranceSeconds = 60;

export interface KeyMaintenanceOptions {
  store: Store;
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
  const { store, keys, config, preset, logger, nowSeconds } = options;
  // The lifetime clients get now; read only when a key actually transitions.
  const longestTokenLifetime = async (): Promise<number> => {
    const serverDefault = preset?.defaultTokenTtl ?? config.defaultTokenTtl;
    // One aggregate, not every client: a million clients must not be loaded to retire a key.
    const { longest, someDefault } = await store.tokenLifetimes();
    if (longest === null) return serverDefault;
    return someDefault ? Math.max(longest, serverDefault) : longest;
  };
  // A retired key has left the JWKS and every token it signed has expired: its private half
  // goes too. For a PKCS#11 key that deletes the token objects (the process whose transition
  // committed does it); a sealed key's envelope stays in its row, as before.
  const destroyRetired = async (patches: readonly KeyPatch[]): Promise<void> => {
    for (const patch of patches) {
      if (patch.state !== 'retired') continue;
      const record = keys.records.find((key) => key.kid === patch.kid);
      if (!record?.keyHandle) continue;
      const location = keyLocation(record);
      try {
        await keys.keyStores.of(location).destroy(location);
        logger.info(
          { kid: record.kid, key_label: record.keyHandle.keyLabel },
          'retired key destroyed in its token',
        );
      } catch (error) {
        logger.warn(
          { err: error, kid: record.kid },
          'could not destroy a retired key in its token',
        );
      }
    }
  };
  return async () => {
    const now = nowSeconds();
    if (
      config.keyRotationDays !== undefined &&
      rotationDue(keys.records, config.signingAlg, config.keyRotationDays, now)
    ) {
      const rotated = await rotateKey(
        store,
        keys.keyStores.generating,
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
    let applied: KeyPatch[] = [];
    const changed = await store.transitionKeys((records) => {
      applied = planKeyTransitions(records, { now, retireAfterSeconds });
      return { patches: applied };
    });
    if (changed) {
      await keys.reload();
      logger.info(
        { keys: keys.records.map((key) => ({ kid: key.kid, state: key.state })) },
        'signing keys transitioned',
      );
      await destroyRetired(applied);
    }
  };
}

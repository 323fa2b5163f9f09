import { existsSync } from 'node:fs';
import { kekSetting, type ServerConfig } from './config.js';
import { kekFile } from './config/paths.js';
import { loadKek, type KeyEncryptionKey } from './lib/kek.js';
import { pepperSetting, SecretHasher } from './secrets/client-secret.js';
import type { Store } from './store/contract.js';
import { openStore, parseDatabaseUrl } from './store/open-store.js';

// Where the paths moved; kept for the callers that import them from here.
export { dataDirFor, kekFile } from './config/paths.js';

export interface Storage {
  store: Store;
  kek: KeyEncryptionKey;
  hasher: SecretHasher;
}

/**
 * Opens (and migrates) the configured store and unlocks it with the key-encryption key
 * (`TESSERA_KEK` from `env`, else the key file in the data directory).
 */
export async function openStorage(config: ServerConfig, env?: NodeJS.ProcessEnv): Promise<Storage> {
  const store = await openStore(parseDatabaseUrl(config.database), config.databaseReplicas ?? []);
  try {
    const envKek = kekSetting(env);
    const file = kekFile(config);
    // Only when a key file would be created: is there sealed data it could never open?
    const create =
      envKek !== undefined || existsSync(file) ? undefined : !(await holdsSealedData(store));
    const kek = loadKek(envKek, file, create === undefined ? {} : { create });
    const hasher = await SecretHasher.load(store, kek);
    return { store, kek, hasher };
  } catch (error) {
    await store.close();
    throw error;
  }
}

/** Whether the store holds anything sealed under a key-encryption key. */
async function holdsSealedData(store: Store): Promise<boolean> {
  if ((await store.getSetting(pepperSetting)) !== undefined) return true;
  return (await store.listKeys()).length > 0;
}

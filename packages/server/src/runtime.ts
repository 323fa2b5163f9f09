import { dirname, join } from 'node:path';
import type { ServerConfig } from './config.js';
import { loadKek, type KeyEncryptionKey } from './lib/kek.js';
import { SecretHasher } from './secrets/client-secret.js';
import type { Store } from './store/contract.js';
import { openStore, parseDatabaseUrl } from './store/open-store.js';

/** Where the generated key-encryption key lives when `TESSERA_KEK` is not set. */
export function kekFile(config: ServerConfig): string {
  return join(config.dataDir, 'kek.key');
}

/**
 * With `--database sqlite:PATH` and no `TESSERA_DATA_DIR`, the data directory is the SQLite
 * file's directory, so the key file always sits beside the data it unlocks.
 */
export function dataDirFor(
  database: string,
  explicitDataDir: string | undefined,
): string | undefined {
  if (explicitDataDir) return explicitDataDir;
  const location = parseDatabaseUrl(database);
  return location.kind === 'sqlite' && location.path !== ':memory:'
    ? dirname(location.path)
    : undefined;
}

export interface Storage {
  store: Store;
  kek: KeyEncryptionKey;
  hasher: SecretHasher;
}

/** Opens (and migrates) the configured store and unlocks it with the key-encryption key. */
export async function openStorage(
  config: ServerConfig,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Storage> {
  const store = await openStore(parseDatabaseUrl(config.database));
  try {
    const kek = loadKek(env.TESSERA_KEK, kekFile(config));
    const hasher = await SecretHasher.load(store, kek);
    return { store, kek, hasher };
  } catch (error) {
    await store.close();
    throw error;
  }
}

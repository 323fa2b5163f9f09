import type { Logger } from 'pino';
import { ClientAuthenticator } from './client-auth/authenticate-client.js';
import type { ServerConfig } from './config.js';
import { KeyRing } from './keys/key-ring.js';
import type { KeyEncryptionKey } from './lib/kek.js';
import type { Preset } from './presets/preset.js';
import { ClientCache } from './registry/client-cache.js';
import type { SecretHasher } from './secrets/client-secret.js';
import type { Store } from './store/contract.js';

/** Everything a request handler needs; one per process. */
export interface TesseraContext {
  config: ServerConfig;
  preset: Preset | undefined;
  store: Store;
  kek: KeyEncryptionKey;
  clients: ClientCache;
  hasher: SecretHasher;
  keys: KeyRing;
  authenticator: ClientAuthenticator;
  /** Wall clock in epoch seconds; injectable so expiry tests are exact. */
  nowSeconds: () => number;
  /** Applies changes other processes committed, if there are any (cheap when there are none). */
  syncChanges: () => Promise<void>;
  close: () => Promise<void>;
}

export interface ContextOptions {
  config: ServerConfig;
  store: Store;
  kek: KeyEncryptionKey;
  hasher: SecretHasher;
  preset?: Preset | undefined;
  logger: Logger;
  nowSeconds?: (() => number) | undefined;
}

export async function createContext(options: ContextOptions): Promise<TesseraContext> {
  const { config, store, kek, hasher, logger } = options;
  const nowSeconds = options.nowSeconds ?? (() => Math.floor(Date.now() / 1000));
  const keys = await KeyRing.open(store, kek, config.signingAlg, nowSeconds());
  const clients = new ClientCache(store);
  let cursor = await store.latestChange();

  let syncing: Promise<void> | undefined;
  const applyChanges = async (): Promise<void> => {
    const { changes, cursor: next } = await store.changesSince(cursor);
    cursor = next;
    let keysChanged = false;
    for (const change of changes) {
      if (change.kind === 'client') clients.invalidate(change.ref);
      else if (change.kind === 'key') keysChanged = true;
    }
    if (keysChanged) await keys.reload();
  };
  const syncChanges = (): Promise<void> => {
    syncing ??= applyChanges()
      .catch((error: unknown) => logger.error({ err: error }, 'applying store changes failed'))
      .finally(() => {
        syncing = undefined;
      });
    return syncing;
  };
  const unwatch = store.watch(() => void syncChanges());

  return {
    config,
    preset: options.preset,
    store,
    kek,
    clients,
    hasher,
    keys,
    authenticator: new ClientAuthenticator(clients, hasher, nowSeconds),
    nowSeconds,
    syncChanges: () => (store.hasForeignChanges() ? syncChanges() : (syncing ?? Promise.resolve())),
    close: async () => {
      unwatch();
      await syncing;
    },
  };
}

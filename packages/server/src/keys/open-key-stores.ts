import { ConfigError, pkcs11PinSettings, type ServerConfig } from '../config.js';
import type { KeyEncryptionKey } from '../lib/kek.js';
import type { KeyStoreHealth } from './key-store.js';
import { KeyStores } from './key-stores.js';
import { Pkcs11KeyStore } from './pkcs11-key-store.js';
import { pkcs11Pin } from './pkcs11/pin.js';

/**
 * The key stores the settings ask for: sealed keys always (they need only the KEK), plus the
 * PKCS#11 token with `--signing-keys pkcs11`, opened and logged in here so a wrong module,
 * label or PIN stops start-up with a message naming the setting.
 */
export function openKeyStores(
  config: Pick<ServerConfig, 'signingKeys' | 'signOn' | 'pkcs11Module' | 'pkcs11TokenLabel'>,
  kek: KeyEncryptionKey,
  options: { env?: NodeJS.ProcessEnv; onHealthChange?: (health: KeyStoreHealth) => void } = {},
): KeyStores {
  if (config.signingKeys !== 'pkcs11') return new KeyStores(kek, undefined, config.signOn);
  const missing = [
    config.pkcs11Module === undefined && 'TESSERA_PKCS11_MODULE (--pkcs11-module)',
    config.pkcs11TokenLabel === undefined && 'TESSERA_PKCS11_TOKEN_LABEL (--pkcs11-token-label)',
  ].filter((name) => name !== false);
  if (missing.length > 0)
    throw new ConfigError(
      `TESSERA_SIGNING_KEYS=pkcs11 (--signing-keys pkcs11) needs ${missing.join(' and ')}`,
      'signingKeys',
    );
  const pkcs11 = Pkcs11KeyStore.open({
    modulePath: config.pkcs11Module!,
    tokenLabel: config.pkcs11TokenLabel!,
    ...pkcs11Pin(pkcs11PinSettings(options.env)),
    ...(options.onHealthChange ? { onHealthChange: options.onHealthChange } : {}),
  });
  return new KeyStores(kek, pkcs11, config.signOn);
}

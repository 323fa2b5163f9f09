import type { SignOn } from '../config.js';
import type { KeyEncryptionKey } from '../lib/kek.js';
import {
  KeyStoreConfigError,
  type KeyLocation,
  type KeyStore,
  type KeyStoreHealth,
} from './key-store.js';
import { SealedKeyStore } from './sealed-key-store.js';

/**
 * The key stores one process uses: new keys go to the configured one (`--signing-keys`);
 * existing keys are signed with wherever they live, so switching an installation to an HSM
 * keeps its sealed key signing until the next rotation replaces it.
 */
export class KeyStores {
  readonly sealed: SealedKeyStore;

  constructor(
    kek: KeyEncryptionKey,
    readonly pkcs11?: KeyStore,
    signOn: SignOn = 'thread-pool',
  ) {
    this.sealed = new SealedKeyStore(kek, signOn === 'event-loop');
  }

  /** Where new keys are generated. */
  get generating(): KeyStore {
    return this.pkcs11 ?? this.sealed;
  }

  /** The store a key lives in. */
  of(location: KeyLocation): KeyStore {
    if (location.store === 'sealed') return this.sealed;
    if (!this.pkcs11)
      throw new KeyStoreConfigError(
        'ERR_KEY_LOCATION',
        `a key lives in PKCS#11 token "${location.tokenLabel}", but PKCS#11 keys are not configured (--signing-keys pkcs11)`,
      );
    return this.pkcs11;
  }

  health(): KeyStoreHealth {
    return this.pkcs11?.health() ?? this.sealed.health();
  }

  async close(): Promise<void> {
    await this.pkcs11?.close();
  }
}

import type { SigningAlgorithm } from '@tessera/protocol';
import type { KeyRecord, Store } from '../store/contract.js';
import { keyLocation, keyRecordFor } from './key-location.js';
import type { KeyStore, KeyStoreHealth, TokenSigner } from './key-store.js';
import type { KeyStores } from './key-stores.js';

const ok: KeyStoreHealth = { state: 'ok' };

export interface JsonWebKeySet {
  keys: JsonWebKey[];
}

/**
 * The signing keys one process uses: a signer for each active key and the public JWKS.
 * Built from the store and rebuilt whenever the change feed reports a key change.
 */
export class KeyRing {
  readonly #store: Store;
  readonly keyStores: KeyStores;
  #signers = new Map<SigningAlgorithm, TokenSigner>();
  /** The key store each active key signs in. */
  #signingStores = new Map<SigningAlgorithm, KeyStore>();
  #jwks: JsonWebKeySet = { keys: [] };
  #jwksJson = '{"keys":[]}';
  #records: KeyRecord[] = [];

  private constructor(store: Store, keyStores: KeyStores) {
    this.#store = store;
    this.keyStores = keyStores;
  }

  /**
   * Loads the keys, generating an active key for `alg` on first start (in the key store new
   * keys go to: sealed, or the PKCS#11 token).
   */
  static async open(
    store: Store,
    keyStores: KeyStores,
    alg: SigningAlgorithm,
    now: number,
  ): Promise<KeyRing> {
    const ring = new KeyRing(store, keyStores);
    await ring.reload();
    if (!ring.#signers.has(alg)) {
      // Nobody can have cached a JWKS without a key yet, so the first key signs at once.
      const generating = keyStores.generating;
      const key = await generating.generate(alg);
      if (!(await store.insertKeyIfNoneActive(keyRecordFor(key, 'active', now))))
        await generating.destroy(key.location); // another process stored its first key first
      await ring.reload();
    }
    return ring;
  }

  async reload(): Promise<void> {
    const records = await this.#store.listKeys();
    const signers = new Map<SigningAlgorithm, TokenSigner>();
    const signingStores = new Map<SigningAlgorithm, KeyStore>();
    for (const record of records) {
      if (record.state !== 'active' || signers.has(record.alg)) continue;
      const location = keyLocation(record);
      const keyStore = this.keyStores.of(location);
      signers.set(
        record.alg,
        await keyStore.signer({ kid: record.kid, alg: record.alg, location }),
      );
      signingStores.set(record.alg, keyStore);
    }
    this.#signingStores = signingStores;
    this.#records = records;
    this.#signers = signers;
    this.#jwks = { keys: records.filter((r) => r.state !== 'retired').map((r) => r.publicJwk) };
    this.#jwksJson = JSON.stringify(this.#jwks);
  }

  signer(alg: SigningAlgorithm): TokenSigner | undefined {
    return this.#signers.get(alg);
  }

  /**
   * Whether the active key for `alg` can sign now: a PKCS#11 token can go away and come back
   * (its key store then says why); sealed keys always can.
   */
  health(alg: SigningAlgorithm): KeyStoreHealth {
    return this.#signingStores.get(alg)?.health() ?? ok;
  }

  get jwks(): JsonWebKeySet {
    return this.#jwks;
  }

  /** The JWKS serialized once per reload, for the hot JWKS endpoint. */
  get jwksJson(): string {
    return this.#jwksJson;
  }

  get records(): readonly KeyRecord[] {
    return this.#records;
  }

  get algorithms(): SigningAlgorithm[] {
    return [...new Set(this.#records.filter((r) => r.state !== 'retired').map((r) => r.alg))];
  }
}

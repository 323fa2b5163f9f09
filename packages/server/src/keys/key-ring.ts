import type { SigningAlgorithm } from '@tessera/protocol';
import { accessTokenType } from '@tessera/protocol';
import type { KeyEncryptionKey } from '../lib/kek.js';
import type { KeyRecord, Store } from '../store/contract.js';
import { JwsSigner } from './jws-signer.js';
import { createKeyRecord, openPrivateKey } from './key-material.js';

export interface JsonWebKeySet {
  keys: JsonWebKey[];
}

/**
 * The signing keys one process uses: a signer for each active key and the public JWKS.
 * Built from the store and rebuilt whenever the change feed reports a key change.
 */
export class KeyRing {
  readonly #store: Store;
  readonly #kek: KeyEncryptionKey;
  #signers = new Map<SigningAlgorithm, JwsSigner>();
  #jwks: JsonWebKeySet = { keys: [] };
  #jwksJson = '{"keys":[]}';
  #records: KeyRecord[] = [];

  private constructor(store: Store, kek: KeyEncryptionKey) {
    this.#store = store;
    this.#kek = kek;
  }

  /** Loads the keys, generating an active key for `alg` on first start. */
  static async open(
    store: Store,
    kek: KeyEncryptionKey,
    alg: SigningAlgorithm,
    now: number,
  ): Promise<KeyRing> {
    const ring = new KeyRing(store, kek);
    await ring.reload();
    if (!ring.#signers.has(alg)) {
      // Nobody can have cached a JWKS without a key yet, so the first key signs at once.
      await store.insertKeyIfNoneActive(await createKeyRecord(alg, kek, 'active', now));
      await ring.reload();
    }
    return ring;
  }

  async reload(): Promise<void> {
    const records = await this.#store.listKeys();
    const signers = new Map<SigningAlgorithm, JwsSigner>();
    for (const record of records) {
      if (record.state !== 'active' || signers.has(record.alg)) continue;
      signers.set(
        record.alg,
        new JwsSigner(record.kid, record.alg, openPrivateKey(record, this.#kek), accessTokenType),
      );
    }
    this.#records = records;
    this.#signers = signers;
    this.#jwks = { keys: records.filter((r) => r.state !== 'retired').map((r) => r.publicJwk) };
    this.#jwksJson = JSON.stringify(this.#jwks);
  }

  signer(alg: SigningAlgorithm): JwsSigner | undefined {
    return this.#signers.get(alg);
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

import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { KeyEncryptionKey } from '../lib/kek.js';
import type { SecretRecord, Store } from '../store/contract.js';

/** Generated secrets carry this prefix so secret scanners can find leaked ones. */
export const secretPrefix = 'tsr_';
const hashTag = 'hmac-sha256$v1$';
export const pepperSetting = 'secret_pepper';

/** 256 bits of entropy, base64url, behind a recognisable prefix. */
export function generateClientSecret(): string {
  return `${secretPrefix}${randomBytes(32).toString('base64url')}`;
}

/**
 * Secrets are random (256 bits), so a keyed fast hash is enough: HMAC-SHA-256 under a pepper
 * that lives in the store sealed by the key-encryption key. A stolen database alone cannot
 * be used to test guesses. Slow password hashes protect low-entropy passwords; these are not.
 */
export class SecretHasher {
  readonly #pepper: Buffer;
  readonly #dummy: Buffer;

  constructor(pepper: Buffer) {
    this.#pepper = pepper;
    this.#dummy = this.#digest(randomBytes(32).toString('base64url'));
  }

  /** Loads the pepper, creating it on first use; every process converges on the same one. */
  static async load(store: Store, kek: KeyEncryptionKey): Promise<SecretHasher> {
    const candidate = kek.seal(randomBytes(32), pepperSetting);
    const sealed = await store.ensureSetting(pepperSetting, candidate);
    return new SecretHasher(kek.open(sealed, pepperSetting));
  }

  hash(secret: string): string {
    return `${hashTag}${this.#digest(secret).toString('base64url')}`;
  }

  newRecord(secret: string, createdAt: number, expiresAt: number | null = null): SecretRecord {
    return { id: randomUUID(), hash: this.hash(secret), createdAt, expiresAt, lastUsedAt: null };
  }

  /**
   * Returns the live secret record that `presented` matches, if any. Every candidate is
   * compared in constant time and, with no candidates (unknown client), a dummy hash is
   * compared instead so both paths cost the same.
   */
  match(
    presented: string,
    secrets: readonly SecretRecord[],
    now: number,
  ): SecretRecord | undefined {
    const digest = this.#digest(presented);
    let matched: SecretRecord | undefined;
    if (secrets.length === 0) timingSafeEqual(digest, this.#dummy);
    for (const secret of secrets) {
      const stored = decodeHash(secret);
      const equal =
        stored !== undefined && stored.length === digest.length && timingSafeEqual(stored, digest);
      if (equal && (secret.expiresAt === null || secret.expiresAt > now)) matched ??= secret;
    }
    return matched;
  }

  #digest(secret: string): Buffer {
    return createHmac('sha256', this.#pepper).update(secret, 'utf8').digest();
  }
}

/** Decoded stored hashes, per secret record: the token path compares against them per request. */
const decodedHashes = new WeakMap<SecretRecord, Buffer | null>();

function decodeHash(secret: SecretRecord): Buffer | undefined {
  let decoded = decodedHashes.get(secret);
  if (decoded === undefined) {
    const { hash } = secret;
    decoded = hash.startsWith(hashTag)
      ? Buffer.from(hash.slice(hashTag.length), 'base64url')
      : null;
    decodedHashes.set(secret, decoded);
  }
  return decoded ?? undefined;
}

import { OAuthError, type SigningAlgorithm } from '@tessera/protocol';

/** Where a key's private half lives (`tessera keys list` shows it as `store`). */
export type KeyStoreKind = 'sealed' | 'pkcs11';

/**
 * How to find a private key again: sealed keys carry their envelope (PKCS#8 DER under the
 * key-encryption key), PKCS#11 keys the label of the token and of the key object inside it.
 * Nothing here is secret for a PKCS#11 key: the key never leaves the token.
 */
export type KeyLocation =
  | { store: 'sealed'; encryptedPrivateKey: string }
  | { store: 'pkcs11'; tokenLabel: string; keyLabel: string };

/** A freshly generated key pair: what the store keeps about it. */
export interface GeneratedKey {
  kid: string;
  alg: SigningAlgorithm;
  /** RFC 7517 public JWK with `kid`, `alg` and `use: "sig"`. */
  publicJwk: JsonWebKey;
  location: KeyLocation;
}

/** Signs access tokens as compact JWS (RFC 7515 §7.1) with one key. */
export interface TokenSigner {
  readonly kid: string;
  readonly alg: SigningAlgorithm;
  /**
   * Never blocks the event loop for the signature itself. `typ` replaces the access-token
   * `typ` of the header (RFC 9701's `token-introspection+jwt`, issue 25).
   */
  sign(payload: object, typ?: string): Promise<string>;
}

/** Whether the key store can sign right now; a PKCS#11 token can go away and come back. */
export type KeyStoreHealth =
  { state: 'ok' } | { state: 'unavailable'; reason: string; since: number };

/**
 * Where private signing keys are generated, used and destroyed (ARCHITECTURE.md, "A key store
 * interface"). The rotation schedule, JWKS and key states stay in the Tessera store; a key
 * store only holds private halves. Implementations: {@link SealedKeyStore} (keys sealed under
 * the key-encryption key, in the store's rows) and {@link Pkcs11KeyStore} (keys inside an
 * HSM token). A cloud KMS would be a third: `generate` creates a key in the KMS and returns
 * its resource name as the location, `signer` calls the KMS's asymmetric-sign API.
 */
export interface KeyStore {
  readonly kind: KeyStoreKind;
  /** Creates a key pair whose private half stays in this store. */
  generate(alg: SigningAlgorithm): Promise<GeneratedKey>;
  /** A signer for a key this store generated. */
  signer(key: { kid: string; alg: SigningAlgorithm; location: KeyLocation }): Promise<TokenSigner>;
  /** Deletes the private half for good (a retired key). Sealed keys have nothing to delete. */
  destroy(location: KeyLocation): Promise<void>;
  health(): KeyStoreHealth;
  close(): Promise<void>;
}

/**
 * The key store cannot sign at the moment (HSM token gone, module failing). The token
 * endpoint answers `503 temporarily_unavailable`; the store recovers by itself.
 */
export class KeyStoreUnavailableError extends Error {
  readonly code = 'ERR_KEY_STORE_UNAVAILABLE';
  override readonly name = 'KeyStoreUnavailableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * Rethrows a `KeyStoreUnavailableError` as the OAuth error the wire carries
 * (`503 temporarily_unavailable`, RFC 6749 §5.2), anything else as it is. The reason (which
 * names the token) goes to the log only.
 */
export function keyStoreUnavailable(error: unknown): never {
  if (error instanceof KeyStoreUnavailableError)
    throw new OAuthError(
      'temporarily_unavailable',
      'The signing keys are unavailable; retry shortly',
      {
        status: 503,
        headers: { 'Retry-After': '5' },
        detail: error.message,
      },
    );
  throw error;
}

/** Misconfiguration of a key store (wrong PIN, no such token, unsupported algorithm). */
export class KeyStoreConfigError extends Error {
  override readonly name = 'KeyStoreConfigError';
  constructor(
    readonly code:
      | 'ERR_PKCS11_MODULE'
      | 'ERR_PKCS11_TOKEN_NOT_FOUND'
      | 'ERR_PKCS11_PIN'
      | 'ERR_PKCS11_ALGORITHM'
      | 'ERR_KEY_LOCATION',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

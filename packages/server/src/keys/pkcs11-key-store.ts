import { randomBytes } from 'node:crypto';
import { SpanKind } from '@opentelemetry/api';
import { accessTokenType, type SigningAlgorithm } from '@tessera/protocol';
import { encodeJwsHeader } from './jws-signer.js';
import { publicSigningJwk } from './key-material.js';
import {
  KeyStoreConfigError,
  type GeneratedKey,
  type KeyLocation,
  type KeyStore,
  type KeyStoreHealth,
  type TokenSigner,
} from './key-store.js';
import { CKM_EDDSA, tokenAlgorithm, type TokenAlgorithm } from './pkcs11/algorithms.js';
import { Pkcs11Token, type Pkcs11TokenOptions } from './pkcs11/pkcs11-token.js';
import { inChildSpan } from '../telemetry/request-spans.js';
import { activeTracer } from '../telemetry/tracer-state.js';

/**
 * Keys generated inside a PKCS#11 token (an HSM, or SoftHSM2 in tests) as non-extractable,
 * sensitive token objects; Tessera keeps only their label and public JWK. Signing runs on
 * worker threads with a session each (pkcs11/sign-workers.ts), so the event loop only posts
 * the signatures asked for in one turn in a message (the README's HSM section and the
 * benchmark say what that costs).
 */
export class Pkcs11KeyStore implements KeyStore {
  readonly kind = 'pkcs11';

  private constructor(readonly token: Pkcs11Token) {}

  static open(options: Pkcs11TokenOptions): Pkcs11KeyStore {
    return new Pkcs11KeyStore(Pkcs11Token.open(options));
  }

  get tokenLabel(): string {
    return this.token.tokenLabel;
  }

  async generate(alg: SigningAlgorithm): Promise<GeneratedKey> {
    const { p } = this.token;
    const algorithm = tokenAlgorithm(p, alg);
    if (alg === 'EdDSA' && !this.token.supports(CKM_EDDSA))
      throw new KeyStoreConfigError(
        'ERR_PKCS11_ALGORITHM',
        `PKCS#11 token "${this.tokenLabel}" does not support EdDSA (CKM_EDDSA)`,
      );
    const id = randomBytes(8);
    const keyLabel = `tessera-${alg.toLowerCase()}-${id.toString('hex')}`;
    const common = [
      { type: p.CKA_TOKEN, value: true },
      { type: p.CKA_LABEL, value: keyLabel },
      { type: p.CKA_ID, value: id },
    ];
    const jwk = await this.token.withSession(async (lib, session) => {
      const pair = await lib.C_GenerateKeyPairAsync(
        session,
        { mechanism: algorithm.generation },
        [
          ...common,
          { type: p.CKA_CLASS, value: p.CKO_PUBLIC_KEY },
          { type: p.CKA_VERIFY, value: true },
          ...algorithm.publicTemplate,
        ],
        [
          ...common,
          { type: p.CKA_CLASS, value: p.CKO_PRIVATE_KEY },
          { type: p.CKA_PRIVATE, value: true },
          // The key never leaves the token, not even wrapped.
          { type: p.CKA_SENSITIVE, value: true },
          { type: p.CKA_EXTRACTABLE, value: false },
          { type: p.CKA_SIGN, value: true },
          { type: p.CKA_DECRYPT, value: false },
          { type: p.CKA_UNWRAP, value: false },
          { type: p.CKA_DERIVE, value: false },
        ],
      );
      try {
        const values = lib.C_GetAttributeValue(
          session,
          pair.publicKey,
          algorithm.publicAttributes.map((type) => ({ type })),
        );
        return algorithm.publicJwk(values.map((attribute) => attribute.value));
      } catch (error) {
        // A key whose public half cannot be published is of no use: leave no orphan behind.
        lib.C_DestroyObject(session, pair.privateKey);
        lib.C_DestroyObject(session, pair.publicKey);
        throw error;
      }
    });
    const { kid, publicJwk } = await publicSigningJwk(jwk, alg);
    return { kid, alg, publicJwk, location: this.#location(keyLabel) };
  }

  async signer(key: {
    kid: string;
    alg: SigningAlgorithm;
    location: KeyLocation;
  }): Promise<TokenSigner> {
    // The key object is looked up at the first signature, not here: the key ring reloads
    // while a token is away too, and must not fail for it.
    return new Pkcs11JwsSigner(this.token, key.kid, key.alg, this.#keyLabel(key.kid, key.location));
  }

  async destroy(location: KeyLocation): Promise<void> {
    const keyLabel = this.#keyLabel('(retired)', location);
    await this.token.withSession(async (lib, session) => {
      for (const object of this.token.findObjects(session, keyLabel))
        lib.C_DestroyObject(session, object);
    });
    this.token.forgetKey(keyLabel);
  }

  health(): KeyStoreHealth {
    return this.token.health();
  }

  close(): Promise<void> {
    return this.token.close();
  }

  #location(keyLabel: string): KeyLocation {
    return { store: 'pkcs11', tokenLabel: this.tokenLabel, keyLabel };
  }

  #keyLabel(kid: string, location: KeyLocation): string {
    if (location.store !== 'pkcs11' || location.tokenLabel !== this.tokenLabel)
      throw new KeyStoreConfigError(
        'ERR_KEY_LOCATION',
        `key ${kid} lives ${location.store === 'pkcs11' ? `in PKCS#11 token "${location.tokenLabel}"` : 'among the sealed keys'}, not in PKCS#11 token "${this.tokenLabel}"`,
      );
    return location.keyLabel;
  }
}

/** Compact JWS with the signature made inside the token. */
class Pkcs11JwsSigner implements TokenSigner {
  readonly #encodedHeader: string;
  readonly #algorithm: TokenAlgorithm;

  constructor(
    readonly token: Pkcs11Token,
    readonly kid: string,
    readonly alg: SigningAlgorithm,
    readonly keyLabel: string,
  ) {
    this.#encodedHeader = encodeJwsHeader(alg, accessTokenType, kid);
    this.#algorithm = tokenAlgorithm(token.p, alg);
  }

  sign(payload: object, typ?: string): Promise<string> {
    if (activeTracer !== undefined) {
      const attributes = {
        'tessera.signing.alg': this.alg,
        'tessera.signing.kid': this.kid,
        'tessera.signing.store': 'pkcs11',
      };
      return inChildSpan('sign', SpanKind.CLIENT, attributes, () => this.#sign(payload, typ));
    }
    return this.#sign(payload, typ);
  }

  async #sign(payload: object, typ?: string): Promise<string> {
    const header =
      typ === undefined ? this.#encodedHeader : encodeJwsHeader(this.alg, typ, this.kid);
    const signingInput = `${header}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
    const { signMechanism, toBeSigned, toJose } = this.#algorithm;
    const signature = await this.token.sign(
      this.keyLabel,
      signMechanism,
      toBeSigned(Buffer.from(signingInput)),
    );
    return `${signingInput}.${toJose(signature).toString('base64url')}`;
  }
}

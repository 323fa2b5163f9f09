import { sign, type KeyObject } from 'node:crypto';
import type { SigningAlgorithm } from '@tessera/protocol';

/**
 * Compact JWS signing on node:crypto's callback `sign`, which runs on the libuv pool, so an
 * RSA signature (~250 µs of CPU) does not block the event loop. jose signs through WebCrypto,
 * which also leaves the loop but costs more per call; this path is the token hot path.
 */
export class JwsSigner {
  readonly #key: KeyObject;
  readonly #digest: string | null;
  readonly #dsaEncoding: 'ieee-p1363' | undefined;
  readonly #encodedHeader: string;

  constructor(
    readonly kid: string,
    readonly alg: SigningAlgorithm,
    key: KeyObject,
    typ: string,
  ) {
    this.#key = key;
    this.#digest = alg === 'EdDSA' ? null : 'sha256';
    this.#dsaEncoding = alg === 'ES256' ? 'ieee-p1363' : undefined;
    this.#encodedHeader = Buffer.from(JSON.stringify({ alg, typ, kid })).toString('base64url');
  }

  sign(payload: object): Promise<string> {
    const signingInput = `${this.#encodedHeader}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
    const key = this.#dsaEncoding ? { key: this.#key, dsaEncoding: this.#dsaEncoding } : this.#key;
    return new Promise((resolve, reject) => {
      sign(this.#digest, Buffer.from(signingInput), key, (error, signature) => {
        if (error) reject(error);
        else resolve(`${signingInput}.${signature.toString('base64url')}`);
      });
    });
  }
}

import { sign, type KeyObject } from 'node:crypto';
import { SpanKind } from '@opentelemetry/api';
import type { SigningAlgorithm } from '@tessera/protocol';
import { inChildSpan } from '../telemetry/request-spans.js';
import { activeTracer } from '../telemetry/tracer-state.js';

/**
 * Compact JWS signing on node:crypto's callback `sign`, which runs on the libuv pool, so an
 * RSA signature (~250 µs of CPU) does not block the event loop. jose signs through WebCrypto,
 * which also leaves the loop but costs more per call; this path is the token hot path.
 */
export class JwsSigner {
  /** The key as `sign` takes it: ES256 asks for raw r||s (JWS), not DER. */
  readonly #signingKey: KeyObject | { key: KeyObject; dsaEncoding: 'ieee-p1363' };
  readonly #digest: string | null;
  readonly #encodedHeader: string;

  constructor(
    readonly kid: string,
    readonly alg: SigningAlgorithm,
    key: KeyObject,
    typ: string,
  ) {
    this.#signingKey = alg === 'ES256' ? { key, dsaEncoding: 'ieee-p1363' } : key;
    this.#digest = alg === 'EdDSA' ? null : 'sha256';
    this.#encodedHeader = Buffer.from(JSON.stringify({ alg, typ, kid })).toString('base64url');
  }

  sign(payload: object): Promise<string> {
    if (activeTracer !== undefined) {
      const attributes = { 'tessera.signing.alg': this.alg, 'tessera.signing.kid': this.kid };
      return inChildSpan('sign', SpanKind.INTERNAL, attributes, () => this.#sign(payload));
    }
    return this.#sign(payload);
  }

  #sign(payload: object): Promise<string> {
    const signingInput = `${this.#encodedHeader}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
    return new Promise((resolve, reject) => {
      sign(this.#digest, Buffer.from(signingInput), this.#signingKey, (error, signature) => {
        if (error) reject(error);
        else resolve(`${signingInput}.${signature.toString('base64url')}`);
      });
    });
  }
}

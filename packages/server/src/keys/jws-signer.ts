import { constants, sign, type KeyObject, type SignKeyObjectInput } from 'node:crypto';
import { SpanKind } from '@opentelemetry/api';
import type { SigningAlgorithm } from '@tessera/protocol';
import { inChildSpan } from '../telemetry/request-spans.js';
import { activeTracer } from '../telemetry/tracer-state.js';

/**
 * Compact JWS signing on node:crypto, the token hot path (jose signs through WebCrypto, which
 * costs more per call). Where it signs is `--sign-on`:
 * - `thread-pool`: the callback `sign`, on the libuv pool, so an RSA signature (~250 µs of
 *   CPU) does not block the event loop and one worker can use several cores;
 * - `event-loop`: the synchronous `sign`: no job object, no pool queue, no thread wake-up and
 *   no second loop turn per token, but a worker signs on one core and a token waits for the
 *   signatures ahead of it (README, Performance, has the measured trade).
 */
export class JwsSigner {
  /** The key as `sign` takes it: ES256 asks for raw r||s (JWS), not DER; PS256 for PSS. */
  readonly #signingKey: KeyObject | SignKeyObjectInput;
  readonly #digest: string | null;
  readonly #encodedHeader: string;

  constructor(
    readonly kid: string,
    readonly alg: SigningAlgorithm,
    key: KeyObject,
    typ: string,
    private readonly onEventLoop = false,
  ) {
    this.#signingKey =
      alg === 'ES256'
        ? { key, dsaEncoding: 'ieee-p1363' }
        : alg === 'PS256'
          ? // RFC 7518 §3.5: MGF1 with SHA-256 and a salt as long as the hash.
            { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }
          : key;
    this.#digest = alg === 'EdDSA' ? null : 'sha256';
    this.#encodedHeader = encodeJwsHeader(alg, typ, kid);
  }

  sign(payload: object, typ?: string): Promise<string> {
    if (activeTracer !== undefined) {
      const attributes = { 'tessera.signing.alg': this.alg, 'tessera.signing.kid': this.kid };
      return inChildSpan('sign', SpanKind.INTERNAL, attributes, () => this.#sign(payload, typ));
    }
    return this.#sign(payload, typ);
  }

  #sign(payload: object, typ?: string): Promise<string> {
    const header =
      typ === undefined ? this.#encodedHeader : encodeJwsHeader(this.alg, typ, this.kid);
    const signingInput = `${header}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
    if (this.onEventLoop) {
      try {
        const signature = sign(this.#digest, Buffer.from(signingInput), this.#signingKey);
        return Promise.resolve(`${signingInput}.${signature.toString('base64url')}`);
      } catch (error) {
        return Promise.reject(error as Error);
      }
    }
    return new Promise((resolve, reject) => {
      sign(this.#digest, Buffer.from(signingInput), this.#signingKey, (error, signature) => {
        if (error) reject(error);
        else resolve(`${signingInput}.${signature.toString('base64url')}`);
      });
    });
  }
}

/** The protected header every Tessera token carries, base64url-encoded once per key. */
export function encodeJwsHeader(alg: SigningAlgorithm, typ: string, kid: string): string {
  return Buffer.from(JSON.stringify({ alg, typ, kid })).toString('base64url');
}

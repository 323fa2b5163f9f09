import type { PublicJwk } from '../algorithms.js';
import { joseBackend } from './signature-jose.js';
import { loadNodeBackend } from './signature-node.js';

/**
 * Checks JWS signatures. Only the primitive differs between backends: header, type and
 * claim rules live in `jws.ts` and `claims.ts` and run identically whichever backend is used.
 */
export interface SignatureBackend {
  readonly name: 'node' | 'jose';
  /** Turns a JWK into a reusable key handle; rejects keys it cannot or must not use. */
  importKey(jwk: PublicJwk, alg: string): Promise<unknown>;
  /**
   * Verifies `token`'s signature. `dot2` is the index of the second `.`, so the signing
   * input is `token.slice(0, dot2)` and the signature `token.slice(dot2 + 1)`.
   */
  verify(
    alg: string,
    key: unknown,
    token: string,
    dot1: number,
    dot2: number,
  ): boolean | Promise<boolean>;
  /** Decodes one (already alphabet-checked) base64url segment to UTF-8 text. */
  decodeText(segment: string): string;
}

function isNode(): boolean {
  const g = globalThis as { process?: { versions?: { node?: string } } };
  return typeof g.process?.versions?.node === 'string';
}

/** Picks node:crypto on Node (synchronous, no thread hop per call), jose everywhere else. */
export async function loadSignatureBackend(preference: 'auto' | 'jose'): Promise<SignatureBackend> {
  if (preference === 'auto' && isNode()) {
    try {
      return await loadNodeBackend();
    } catch {
      // A runtime claiming to be Node without node:crypto (some bundlers' shims): use WebCrypto.
    }
  }
  return joseBackend;
}

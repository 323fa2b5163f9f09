import { base64url, flattenedVerify, importJWK } from 'jose';
import type { JWK } from 'jose';
import { publicKeyMembers } from '../algorithms.js';
import type { PublicJwk } from '../algorithms.js';
import type { SignatureBackend } from './signature.js';

const utf8 = new TextDecoder();

/** The portable backend: jose over WebCrypto (Deno, Bun, browsers, edge runtimes). */
export const joseBackend: SignatureBackend = {
  name: 'jose',
  async importKey(jwk: PublicJwk, alg: string): Promise<unknown> {
    return importJWK({ ...(publicKeyMembers(jwk) as JWK), ext: true }, alg);
  },
  async verify(alg, key, token, dot1, dot2): Promise<boolean> {
    try {
      await flattenedVerify(
        {
          protected: token.slice(0, dot1),
          payload: token.slice(dot1 + 1, dot2),
          signature: token.slice(dot2 + 1),
        },
        key as CryptoKey,
        { algorithms: [alg] },
      );
      return true;
    } catch {
      return false;
    }
  },
  decodeText(segment: string): string {
    return utf8.decode(base64url.decode(segment));
  },
};

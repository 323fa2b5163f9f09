import { digestOf, publicKeyMembers } from '../algorithms.js';
import type { PublicJwk } from '../algorithms.js';
import type { SignatureBackend } from './signature.js';

// Structural views of the few node:crypto / node:buffer members used, so the package's
// public types never depend on @types/node.
interface NodeKeyObject {
  readonly asymmetricKeyType?: string;
  readonly asymmetricKeyDetails?: { modulusLength?: number };
}
type NodeVerifyKey =
  | NodeKeyObject
  | { key: NodeKeyObject; dsaEncoding?: string; padding?: number; saltLength?: number };
interface NodeCrypto {
  createPublicKey(input: { key: unknown; format: 'jwk' }): NodeKeyObject;
  verify(
    digest: string | undefined,
    data: Uint8Array,
    key: NodeVerifyKey,
    signature: Uint8Array,
  ): boolean;
  constants: { RSA_PKCS1_PSS_PADDING: number; RSA_PSS_SALTLEN_DIGEST: number };
}
interface NodeBuffer {
  from(
    input: string,
    encoding: 'latin1' | 'base64url',
  ): Uint8Array & { toString(encoding: 'utf8'): string };
}

// Variables, not literals, so bundlers targeting other runtimes leave these imports alone.
const cryptoSpecifier = 'node:crypto';
const bufferSpecifier = 'node:buffer';

/**
 * The Node backend: `crypto.verify` runs synchronously on a cached `KeyObject`. WebCrypto's
 * `subtle.verify` queues every call to the thread pool and back, which costs more than the
 * RSA verification itself.
 */
export async function loadNodeBackend(): Promise<SignatureBackend> {
  const crypto = (await import(cryptoSpecifier)) as NodeCrypto;
  const { Buffer } = (await import(bufferSpecifier)) as { Buffer: NodeBuffer };
  const { RSA_PKCS1_PSS_PADDING, RSA_PSS_SALTLEN_DIGEST } = crypto.constants;

  return {
    name: 'node',
    async importKey(jwk: PublicJwk, alg: string): Promise<unknown> {
      const key = crypto.createPublicKey({ key: publicKeyMembers(jwk), format: 'jwk' });
      if (alg.startsWith('RS') || alg.startsWith('PS')) {
        // RFC 7518 §3.3: RSA keys of 2048 bits or larger (jose enforces the same).
        if ((key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048)
          throw new Error('RSA key shorter than 2048 bits');
      }
      if (alg.startsWith('ES')) return { key, dsaEncoding: 'ieee-p1363' };
      if (alg.startsWith('PS'))
        return { key, padding: RSA_PKCS1_PSS_PADDING, saltLength: RSA_PSS_SALTLEN_DIGEST };
      return key;
    },
    verify(alg, key, token, _dot1, dot2): boolean {
      try {
        const data = Buffer.from(token.slice(0, dot2), 'latin1');
        const signature = Buffer.from(token.slice(dot2 + 1), 'base64url');
        return crypto.verify(digestOf(alg), data, key as NodeVerifyKey, signature);
      } catch {
        return false;
      }
    },
    decodeText(segment: string): string {
      return Buffer.from(segment, 'base64url').toString('utf8');
    },
  };
}

import { createHash } from 'node:crypto';
import type { SigningAlgorithm } from '@tessera/protocol';
import type * as Pkcs11 from 'pkcs11js';
import { KeyStoreConfigError } from '../key-store.js';
import { ecdsaSignatureToJose } from './ecdsa-signature.js';

type Binding = typeof Pkcs11;

// PKCS#11 3.0 names pkcs11js (a 2.40 binding) does not export.
export const CKM_EC_EDWARDS_KEY_PAIR_GEN = 0x1055;
export const CKM_EDDSA = 0x1057;

/** DER object identifiers as CKA_EC_PARAMS carries them. */
const p256Oid = Buffer.from('06082a8648ce3d030107', 'hex'); // 1.2.840.10045.3.1.7
const ed25519Oid = Buffer.from('06032b6570', 'hex'); // 1.3.101.112 (RFC 8410)

/** How one JOSE algorithm is done inside a token: key generation, signing and the public JWK. */
export interface TokenAlgorithm {
  generation: number;
  /** Public-key template members beyond class, token, label and verify. */
  publicTemplate: Pkcs11.Template;
  signMechanism: Pkcs11.Mechanism;
  /** What the token signs: the JWS signing input, or its SHA-256 for raw ECDSA. */
  toBeSigned(signingInput: Buffer): Buffer;
  /** The token's signature as JWS wants it. */
  toJose(signature: Buffer): Buffer;
  /** Public-key attributes to read back, and the JWK they make. */
  publicAttributes: number[];
  publicJwk(values: Buffer[]): JsonWebKey;
}

const identity = (data: Buffer) => data;

export function tokenAlgorithm(p: Binding, alg: SigningAlgorithm): TokenAlgorithm {
  const rsa = (signMechanism: Pkcs11.Mechanism): TokenAlgorithm => ({
    generation: p.CKM_RSA_PKCS_KEY_PAIR_GEN,
    publicTemplate: [
      { type: p.CKA_KEY_TYPE, value: p.CKK_RSA },
      { type: p.CKA_MODULUS_BITS, value: 2048 },
      { type: p.CKA_PUBLIC_EXPONENT, value: Buffer.from([1, 0, 1]) },
    ],
    signMechanism,
    toBeSigned: identity,
    toJose: identity,
    publicAttributes: [p.CKA_MODULUS, p.CKA_PUBLIC_EXPONENT],
    publicJwk: ([n, e]) => ({ kty: 'RSA', n: b64u(n!), e: b64u(e!) }),
  });
  switch (alg) {
    case 'RS256':
      return rsa({ mechanism: p.CKM_SHA256_RSA_PKCS });
    case 'PS256':
      // RFC 7518 §3.5: MGF1 with SHA-256, salt as long as the hash.
      return rsa({
        mechanism: p.CKM_SHA256_RSA_PKCS_PSS,
        parameter: {
          type: p.CK_PARAMS_RSA_PSS,
          hashAlg: p.CKM_SHA256,
          mgf: p.CKG_MGF1_SHA256,
          saltLen: 32,
        } as Pkcs11.RsaPSS,
      });
    case 'ES256':
      return {
        generation: p.CKM_EC_KEY_PAIR_GEN,
        publicTemplate: [
          { type: p.CKA_KEY_TYPE, value: p.CKK_EC },
          { type: p.CKA_EC_PARAMS, value: p256Oid },
        ],
        // Raw CKM_ECDSA over a digest made here: tokens (SoftHSM2 among them) that lack
        // CKM_ECDSA_SHA256 all have it, and hashing a token's claims costs a microsecond.
        signMechanism: { mechanism: p.CKM_ECDSA },
        toBeSigned: (input) => createHash('sha256').update(input).digest(),
        toJose: (signature) => ecdsaSignatureToJose(signature, 32),
        publicAttributes: [p.CKA_EC_POINT],
        publicJwk: ([point]) => {
          const raw = ecPoint(point!, 65);
          if (raw[0] !== 4) throw new Error('the token returned a compressed EC point');
          return {
            kty: 'EC',
            crv: 'P-256',
            x: b64u(raw.subarray(1, 33)),
            y: b64u(raw.subarray(33)),
          };
        },
      };
    case 'EdDSA':
      return {
        generation: CKM_EC_EDWARDS_KEY_PAIR_GEN,
        publicTemplate: [{ type: p.CKA_EC_PARAMS, value: ed25519Oid }],
        signMechanism: { mechanism: CKM_EDDSA },
        toBeSigned: identity,
        toJose: identity,
        publicAttributes: [p.CKA_EC_POINT],
        publicJwk: ([point]) => ({ kty: 'OKP', crv: 'Ed25519', x: b64u(ecPoint(point!, 32)) }),
      };
    default:
      throw new KeyStoreConfigError(
        'ERR_PKCS11_ALGORITHM',
        `signing algorithm ${String(alg)} is not available for PKCS#11 keys`,
      );
  }
}

/**
 * CKA_EC_POINT is a DER OCTET STRING around the point (PKCS#11 2.40 §2.3.3); some tokens
 * return the bare point. Either way the point is the last `length` bytes.
 */
function ecPoint(value: Buffer, length: number): Buffer {
  if (value.length < length) throw new Error(`EC point of ${value.length} bytes`);
  return value.subarray(value.length - length);
}

const b64u = (bytes: Buffer) => bytes.toString('base64url');

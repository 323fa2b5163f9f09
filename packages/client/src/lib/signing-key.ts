import { InvalidOptionError } from '../errors.js';
import { base64url } from '@tessera/protocol';
import { utf8 } from './base64.js';

/** JWS algorithms the client signs with (RFC 7518 §3, RFC 8037 §3.1): asymmetric only. */
export type SigningAlg = 'RS256' | 'PS256' | 'ES256' | 'EdDSA';
export const signingAlgs: readonly SigningAlg[] = ['RS256', 'PS256', 'ES256', 'EdDSA'];

/** A private key ready for WebCrypto `sign`, with its JWS algorithm. Never serialised. */
export interface SigningKey {
  readonly alg: SigningAlg;
  readonly key: CryptoKey;
}

const importParams: Record<SigningAlg, RsaHashedImportParams | EcKeyImportParams | Algorithm> = {
  RS256: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
  PS256: { name: 'RSA-PSS', hash: 'SHA-256' },
  ES256: { name: 'ECDSA', namedCurve: 'P-256' },
  EdDSA: { name: 'Ed25519' },
};

const signParams: Record<SigningAlg, Algorithm | EcdsaParams | RsaPssParams> = {
  RS256: { name: 'RSASSA-PKCS1-v1_5' },
  // RFC 7518 §3.5: the salt is as long as the hash.
  PS256: { name: 'RSA-PSS', saltLength: 32 } as RsaPssParams,
  ES256: { name: 'ECDSA', hash: 'SHA-256' } as EcdsaParams,
  EdDSA: { name: 'Ed25519' },
};

/** Whether `value` is a WebCrypto key (structurally, so keys from another realm count too). */
export function isCryptoKey(value: unknown): value is CryptoKey {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as CryptoKey).type === 'string' &&
    typeof (value as CryptoKey).algorithm === 'object'
  );
}

/** The JWS `alg` a WebCrypto key can produce, or undefined. */
function algOfCryptoKey(key: CryptoKey): SigningAlg | undefined {
  const a = key.algorithm as Partial<RsaHashedKeyAlgorithm & EcKeyAlgorithm>;
  const sha256 = a.hash?.name === 'SHA-256';
  if (a.name === 'RSASSA-PKCS1-v1_5' && sha256) return 'RS256';
  if (a.name === 'RSA-PSS' && sha256) return 'PS256';
  if (a.name === 'ECDSA' && a.namedCurve === 'P-256') return 'ES256';
  if (a.name === 'Ed25519') return 'EdDSA';
  return undefined;
}

/** The default `alg` of a JWK: its own `alg` when we support it, else by key type (RSA → RS256). */
function algOfJwk(jwk: JsonWebKey): SigningAlg | undefined {
  if (signingAlgs.includes(jwk.alg as SigningAlg)) return jwk.alg as SigningAlg;
  if (jwk.kty === 'RSA') return 'RS256';
  if (jwk.kty === 'EC' && jwk.crv === 'P-256') return 'ES256';
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') return 'EdDSA';
  return undefined;
}

/**
 * Turns a private `CryptoKey` or private JWK into a {@link SigningKey}. A JWK is imported as
 * non-extractable, so the material lives on only inside WebCrypto. Errors name `option` and
 * never carry the key or WebCrypto's error (which could describe it).
 */
export async function importSigningKey(
  key: CryptoKey | JsonWebKey,
  option: string,
  alg: SigningAlg | undefined,
): Promise<SigningKey> {
  if (isCryptoKey(key)) {
    const own = algOfCryptoKey(key);
    if (own === undefined)
      throw new InvalidOptionError(option, 'must be an RSA (SHA-256), P-256 or Ed25519 key');
    if (alg !== undefined && alg !== own)
      throw new InvalidOptionError(option, `is a ${own} key, not ${alg}`);
    if (key.type !== 'private' || !key.usages.includes('sign'))
      throw new InvalidOptionError(option, 'must be a private key usable for "sign"');
    return { alg: own, key };
  }
  const chosen = alg ?? algOfJwk(key);
  if (chosen === undefined)
    throw new InvalidOptionError(option, 'must be an RSA, EC P-256 or OKP Ed25519 JWK');
  // `alg`, `use` and `key_ops` on the JWK may contradict WebCrypto's names (Ed25519 vs EdDSA).
  const { alg: _alg, use: _use, key_ops: _ops, ext: _ext, ...material } = key;
  try {
    return {
      alg: chosen,
      key: await crypto.subtle.importKey('jwk', material, importParams[chosen], false, ['sign']),
    };
  } catch {
    throw new InvalidOptionError(option, `is not a valid private ${chosen} JWK`);
  }
}

/** Signs `input` (RFC 7515 §5.1 step 5); ECDSA comes back from WebCrypto already as r ‖ s. */
export function signBytes(key: SigningKey, input: string): Promise<ArrayBuffer> {
  return crypto.subtle.sign(signParams[key.alg], key.key, utf8(input));
}

/** {@link signBytes}, base64url-encoded: the third part of a compact JWS. */
export async function sign(key: SigningKey, input: string): Promise<string> {
  return base64url(await signBytes(key, input));
}

/** Verifies a signature made by {@link sign}, with the public JWK. */
export async function verify(
  alg: SigningAlg,
  publicJwk: JsonWebKey,
  input: string,
  signature: ArrayBuffer,
): Promise<boolean> {
  const key = await crypto.subtle.importKey('jwk', publicJwk, importParams[alg], false, ['verify']);
  return crypto.subtle.verify(signParams[alg], key, signature, utf8(input));
}

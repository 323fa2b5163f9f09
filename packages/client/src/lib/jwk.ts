import { InvalidOptionError } from '../errors.js';
import { sha256Base64url } from '@tessera/protocol';
import { isCryptoKey } from './signing-key.js';

/** RFC 7638 §3.2 required members per key type, in lexicographic order. */
const publicMembers: Record<string, readonly string[]> = {
  EC: ['crv', 'kty', 'x', 'y'],
  OKP: ['crv', 'kty', 'x'],
  RSA: ['e', 'kty', 'n'],
};

/**
 * The public part of a key as a minimal JWK: only the RFC 7638 members, in thumbprint order,
 * so no private member (`d`, `p`, …) can ever reach a `jwk` header. A `CryptoKey` must be a
 * public key, or an extractable private one.
 */
export async function publicJwkOf(
  key: CryptoKey | JsonWebKey,
  option: string,
): Promise<JsonWebKey> {
  let jwk: JsonWebKey;
  if (isCryptoKey(key)) {
    if (!key.extractable) throw new InvalidOptionError(option, 'must be extractable');
    jwk = await crypto.subtle.exportKey('jwk', key);
  } else {
    jwk = key;
  }
  const members = publicMembers[jwk.kty ?? ''];
  if (members === undefined) throw new InvalidOptionError(option, 'has an unsupported kty');
  const out: Record<string, string> = {};
  for (const name of members) {
    const value = (jwk as Record<string, unknown>)[name];
    if (typeof value !== 'string' || value === '')
      throw new InvalidOptionError(option, `has no "${name}"`);
    out[name] = value;
  }
  return out as JsonWebKey;
}

/** RFC 7638 JWK SHA-256 thumbprint of a key made by {@link publicJwkOf} (members already ordered). */
export async function jwkThumbprint(publicJwk: JsonWebKey): Promise<string> {
  return sha256Base64url(JSON.stringify(publicJwk));
}

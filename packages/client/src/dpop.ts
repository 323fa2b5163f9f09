import { defaults } from './defaults.js';
import { InvalidOptionError } from './errors.js';
import { dpopProofType, normalizeHtu, sha256Base64url } from '@tessera/protocol';
import { randomId } from './lib/base64.js';
import { jwkThumbprint, publicJwkOf } from './lib/jwk.js';
import { signJwt } from './lib/jws.js';
import { importSigningKey, isCryptoKey, signBytes, verify } from './lib/signing-key.js';
import type { DpopOptions } from './options.js';

/** Makes DPoP proofs (RFC 9449 §4) with one key, and remembers servers' nonces (§8, §9). */
export interface DpopProver {
  /** RFC 7638 thumbprint of the public key: the `cnf.jkt` of tokens bound to it. */
  readonly jkt: string;
  /**
   * A fresh proof for one request: `htm` the method, `htu` the URL without query and fragment,
   * a random `jti`, `iat` now, `ath` = base64url(SHA-256(token)) when a token is presented, and
   * the last `DPoP-Nonce` the URL's origin sent, if any.
   */
  proof(method: string, url: string, accessToken?: string): Promise<string>;
  /** Keeps the `DPoP-Nonce` of `response` for `url`'s origin; true when it is a new value. */
  rememberNonce(url: string, response: Response): boolean;
}

/** RFC 9449 §4.2: `htu` is the target URI without query and fragment. */
export function htuOf(url: string): string {
  const htu = normalizeHtu(url);
  if (htu === undefined) throw new TypeError(`Invalid URL: ${url}`);
  return htu;
}

/**
 * Imports the DPoP key pair once and checks that the public key matches the private one (a
 * mismatch would otherwise surface as a server's vague `invalid_dpop_proof`).
 */
export async function createDpopProver(
  options: DpopOptions,
  now: () => number,
): Promise<DpopProver> {
  const key = await importSigningKey(options.privateKey, 'dpop.privateKey', options.signingAlg);
  if (
    options.publicKey === undefined &&
    isCryptoKey(options.privateKey) &&
    !options.privateKey.extractable
  )
    throw new InvalidOptionError(
      'dpop.publicKey',
      'is required with a non-extractable private key',
    );
  const jwk = await publicJwkOf(options.publicKey ?? options.privateKey, 'dpop.publicKey');
  const probe = 'tessera/client/dpop-key-check';
  const matches = await verify(key.alg, jwk, probe, await signBytes(key, probe)).catch(() => false);
  if (!matches) throw new InvalidOptionError('dpop.publicKey', 'does not match dpop.privateKey');
  const jkt = await jwkThumbprint(jwk);
  const nonces = new Map<string, string>();

  return {
    jkt,
    async proof(method, url, accessToken) {
      const payload: Record<string, unknown> = {
        jti: randomId(),
        htm: method.toUpperCase(),
        htu: htuOf(url),
        iat: Math.floor(now() / 1000),
      };
      const nonce = nonces.get(new URL(url).origin);
      if (nonce !== undefined) payload['nonce'] = nonce;
      if (accessToken !== undefined) payload['ath'] = await sha256Base64url(accessToken);
      return signJwt(key, { typ: dpopProofType, jwk }, payload);
    },
    rememberNonce(url, response) {
      const nonce = response.headers.get('dpop-nonce');
      if (nonce === null || nonce === '') return false;
      const origin = new URL(url).origin;
      if (nonces.get(origin) === nonce) return false;
      nonces.delete(origin);
      if (nonces.size >= defaults.dpopNonceOrigins) nonces.delete(nonces.keys().next().value!);
      nonces.set(origin, nonce);
      return true;
    },
  };
}

import { base64url } from '@tessera/protocol';
import { utf8 } from './base64.js';
import { sign, type SigningKey } from './signing-key.js';

/**
 * A compact JWS (RFC 7515 §7.1) over a JSON payload: just enough JOSE for client assertions
 * and DPoP proofs, so the client needs no JOSE dependency. Signs; never parses or verifies.
 */
export async function signJwt(
  key: SigningKey,
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
): Promise<string> {
  const input = `${base64url(utf8(JSON.stringify({ alg: key.alg, ...header })))}.${base64url(
    utf8(JSON.stringify(payload)),
  )}`;
  return `${input}.${await sign(key, input)}`;
}

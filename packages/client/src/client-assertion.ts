import { defaults } from './defaults.js';
import { randomId } from './lib/base64.js';
import { signJwt } from './lib/jws.js';
import type { SigningKey } from './lib/signing-key.js';

/**
 * A `private_key_jwt` client assertion (RFC 7523 §3): `iss` = `sub` = the client id, `aud` the
 * authorization server's issuer, a short `exp`, a random `jti` (servers refuse a replayed one,
 * so each request gets a new assertion), `iat`. Times come from the client's clock.
 */
export function clientAssertion(
  key: SigningKey,
  kid: string | undefined,
  clientId: string,
  audience: string,
  nowMs: number,
): Promise<string> {
  const iat = Math.floor(nowMs / 1000);
  return signJwt(key, kid === undefined ? { typ: 'JWT' } : { typ: 'JWT', kid }, {
    iss: clientId,
    sub: clientId,
    aud: audience,
    jti: randomId(),
    iat,
    exp: iat + defaults.clientAssertionLifetimeSeconds,
  });
}

import type { TesseraContext } from '../context.js';
import { ref, type Endpoint } from './endpoint.js';

export const jwksPath = '/.well-known/jwks.json';

/** RFC 7517 key set; verifiers may cache it for `max-age`, which key rotation waits out. */
export function jwksEndpoint(
  deps: Pick<TesseraContext, 'config' | 'keys' | 'syncChanges'>,
): Endpoint {
  return {
    method: 'GET',
    paths: [jwksPath],
    summary: 'Public signing keys (RFC 7517)',
    caller: 'none',
    responses: {
      200: { description: 'JWK set', type: 'application/jwk-set+json', schema: ref('JwkSet') },
    },
    async handle() {
      await deps.syncChanges();
      return {
        status: 200,
        headers: {
          'cache-control': `public, max-age=${deps.config.jwksMaxAge}`,
          'content-type': 'application/jwk-set+json',
        },
        body: deps.keys.jwksJson,
      };
    },
  };
}

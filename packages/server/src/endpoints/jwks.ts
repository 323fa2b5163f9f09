import type { FastifyInstance } from 'fastify';
import type { TesseraContext } from '../context.js';

export const jwksPath = '/.well-known/jwks.json';

/** RFC 7517 key set; verifiers may cache it for `max-age`, which key rotation waits out. */
export function registerJwksEndpoint(app: FastifyInstance, context: TesseraContext): void {
  app.get(jwksPath, async (_request, reply) => {
    await context.syncChanges();
    return reply
      .header('cache-control', `public, max-age=${context.config.jwksMaxAge}`)
      .type('application/jwk-set+json')
      .send(context.keys.jwksJson);
  });
}

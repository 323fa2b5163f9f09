import type { FastifyInstance } from 'fastify';
import type { TesseraContext } from '../context.js';

/** Liveness (`/healthz`: the process answers) and readiness (`/readyz`: it can issue tokens). */
export function registerHealthEndpoints(app: FastifyInstance, context: TesseraContext): void {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const checks: Record<string, string> = {};
    try {
      await context.store.ping();
      checks.store = 'ok';
    } catch {
      checks.store = 'unavailable';
    }
    checks.signing_key = context.keys.signer(context.config.signingAlg) ? 'ok' : 'missing';
    const ready = Object.values(checks).every((value) => value === 'ok');
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready', checks });
  });
}

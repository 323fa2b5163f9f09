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
    const alg = context.config.signingAlg;
    // A PKCS#11 token that went away: not ready until it is back (it re-initialises itself).
    checks.signing_key = !context.keys.signer(alg)
      ? 'missing'
      : context.keys.health(alg).state === 'ok'
        ? 'ok'
        : 'unavailable';
    const refused = context.store.writeHealth?.refusedBecause;
    checks.store_writes = refused === undefined ? 'ok' : `refused: ${refused}`;
    const ready = checks.store === 'ok' && checks.signing_key === 'ok';
    // Writes refused (full disk, read-only) still leave token issuance working: degraded,
    // not unready, so a balancer keeps sending token requests here.
    if (context.draining) return reply.code(503).send({ status: 'draining', checks });
    const status = !ready ? 'not_ready' : refused === undefined ? 'ready' : 'degraded';
    return reply.code(ready ? 200 : 503).send({ status, checks });
  });
}

import type { TesseraContext } from '../context.js';
import { serverVersion } from '../version.js';
import { json, object, str, type Endpoint } from './endpoint.js';

export interface HealthDeps extends Pick<TesseraContext, 'store' | 'keys'> {
  config: Pick<TesseraContext['config'], 'signingAlg'>;
  /** Whether a graceful stop has begun (read per request: it changes). */
  draining: () => boolean;
}

/** Only on an instance reading a replica (`--database-replica`, issue 24). */
const replica = object({
  status: { enum: ['ok', 'unreachable'] },
  /** From the latest poll (every 500 ms); null before the first. */
  lag_seconds: { type: ['number', 'null'] },
  streaming: { type: ['boolean', 'null'] },
});

const readiness = object(
  {
    status: { enum: ['ready', 'degraded', 'not_ready', 'draining'] },
    checks: { type: 'object', additionalProperties: str },
  },
  { replica },
);

/** Liveness (`/healthz`: the process answers) and readiness (`/readyz`: it can issue tokens). */
export function healthEndpoints(deps: HealthDeps): Endpoint[] {
  return [
    {
      method: 'GET',
      paths: ['/healthz'],
      summary: 'Liveness',
      caller: 'none',
      responses: {
        200: json(
          'Alive, with the running version',
          object({ status: { const: 'ok' }, version: str }),
        ),
      },
      handle: () => ({ status: 200, body: { status: 'ok', version: serverVersion } }),
    },
    {
      method: 'GET',
      paths: ['/readyz'],
      summary: 'Readiness: the store answers and a signing key is active',
      caller: 'none',
      responses: {
        200: json('Ready (or degraded: writes refused)', readiness),
        503: json('Not ready, or draining', readiness),
      },
      async handle() {
        const checks: Record<string, string> = {};
        try {
          await deps.store.ping();
          checks.store = 'ok';
        } catch {
          checks.store = 'unavailable';
        }
        const alg = deps.config.signingAlg;
        // A PKCS#11 token that went away: not ready until it is back (it re-initialises itself).
        checks.signing_key = !deps.keys.signer(alg)
          ? 'missing'
          : deps.keys.health(alg).state === 'ok'
            ? 'ok'
            : 'unavailable';
        const refused = deps.store.writeHealth?.refusedBecause;
        checks.store_writes = refused === undefined ? 'ok' : `refused: ${refused}`;
        const ready = checks.store === 'ok' && checks.signing_key === 'ok';
        // With a replica, `store` is the replica (what this instance reads and hears changes
        // from): an instance that cannot learn of revocations is not ready. The primary's
        // absence only refuses writes.
        const replication = deps.store.replication;
        const extra =
          replication === undefined
            ? {}
            : {
                replica: {
                  status: checks.store === 'ok' ? 'ok' : 'unreachable',
                  lag_seconds: replication.lagSeconds,
                  streaming: replication.streaming,
                },
              };
        // Writes refused (full disk, read-only) still leave token issuance working: degraded,
        // not unready, so a balancer keeps sending token requests here.
        if (deps.draining()) return { status: 503, body: { status: 'draining', checks, ...extra } };
        const status = !ready ? 'not_ready' : refused === undefined ? 'ready' : 'degraded';
        return { status: ready ? 200 : 503, body: { status, checks, ...extra } };
      },
    },
  ];
}

import cluster from 'node:cluster';
import type { Logger } from 'pino';
import {
  FailureLimiter,
  type FailureLimits,
  type FailureScope,
  type LockoutKey,
} from '../client-auth/failure-limiter.js';
import { throttled, type SharedState } from '../shared-state/shared-state.js';

/**
 * Brute-force counting across the workers of `serve --workers N`. Each worker still counts
 * and locks on its own (so one process behaves as before), and also reports every failure to
 * the primary, which counts them together (and, with a shared state, with every other
 * instance's) and sends each lock it decides to every worker. Without it an attacker
 * spreading attempts over N workers got N times the allowance. The primary is told of a
 * success only when it cleared failures, so the token path sends nothing.
 *
 * Issue 21: every message names the tenant whose counts it is about, and a worker's also
 * that tenant's limits, so the primary (which loads no tenants) counts each tenant apart by
 * its own limits without a look-up.
 */
type WorkerMessage =
  | {
      tessera: 'auth-failure';
      clientId: string;
      address: string | undefined;
      tenant?: string;
      limits?: FailureLimits;
    }
  | {
      tessera: 'auth-failures-cleared';
      clientId: string;
      address: string | undefined;
      tenant?: string;
      limits?: FailureLimits;
    };

interface LockMessage {
  tessera: 'auth-lock';
  /** The tenant whose counts locked (absent from a primary of before tenants: `default`). */
  tenant: string;
  key: Exclude<LockoutKey, 'client_id_all_addresses'>;
  clientId: string;
  address: string | undefined;
  /** Epoch seconds. */
  until: number;
}

const isLock = (message: unknown): message is LockMessage =>
  typeof message === 'object' &&
  message !== null &&
  (message as { tessera?: unknown }).tessera === 'auth-lock';

/** In a worker: report to the primary and apply the locks it sends. */
export function shareFailuresWithPrimary(limiter: FailureLimiter): void {
  if (!cluster.isWorker || !process.send) return;
  const send = (message: WorkerMessage) => {
    // The primary may be gone while this worker drains; counting then stays local.
    if (process.connected) process.send!(message);
  };
  limiter.onFailure = (clientId, address, _reason, { tenant, limits }) =>
    send({ tessera: 'auth-failure', clientId, address, tenant, limits });
  limiter.onFailuresCleared = (clientId, address, { tenant, limits }) =>
    send({ tessera: 'auth-failures-cleared', clientId, address, tenant, limits });
  process.on('message', (message: unknown) => {
    if (isLock(message))
      limiter.applyLock(
        message.key,
        message.clientId,
        message.address,
        message.until,
        message.tenant ?? 'default',
      );
  });
}

const positiveInteger = (value: unknown): value is number =>
  typeof value === 'number' && Number.isInteger(value) && value >= 1;

/** The scope a worker's message names; the primary's own (the server's limits) when it names none. */
function scopeOf(message: WorkerMessage, fallback: FailureScope): FailureScope {
  const { tenant, limits } = message;
  if (typeof tenant !== 'string' || limits === undefined) return fallback;
  const { perClient, perAddress, windowSeconds, lockSeconds } = limits;
  if (![perClient, perAddress, windowSeconds, lockSeconds].every(positiveInteger))
    return { tenant, limits: fallback.limits };
  return { tenant, limits: { perClient, perAddress, windowSeconds, lockSeconds } };
}

/** In the primary: count every worker's failures and send each new lock to all workers. */
export function countFailuresForWorkers(
  limits: FailureLimits,
  logger: Logger,
  shared?: SharedState,
  nowSeconds: () => number = () => Math.floor(Date.now() / 1000),
): FailureLimiter {
  const limiter = new FailureLimiter(limits, nowSeconds);
  limiter.shared = shared;
  limiter.onSharedError = throttled((error, dropped) =>
    logger.warn(
      { err: error, dropped },
      'shared state unavailable: failures counted on this host only',
    ),
  );
  limiter.onEvent = (event) => {
    if (event.type !== 'lockout.started') return;
    if (event.key === 'client_id_all_addresses') {
      logger.warn(
        { tenant: event.tenant, lockout: event.key, client_id: event.clientId, refused: false },
        'client_id failing from several addresses; not refused',
      );
      return;
    }
    logger.warn(
      {
        tenant: event.tenant,
        lockout: event.key,
        client_id: event.clientId,
        address: event.address,
      },
      'client authentication locked out after repeated failures across workers',
    );
    const lock: LockMessage = {
      tessera: 'auth-lock',
      tenant: event.tenant,
      key: event.key,
      clientId: event.clientId,
      address: event.address,
      until: event.until,
    };
    for (const worker of Object.values(cluster.workers ?? {})) {
      if (worker?.isConnected()) worker.send(lock);
    }
  };
  cluster.on('message', (_worker, message: WorkerMessage | undefined) => {
    if (message?.tessera !== 'auth-failure' && message?.tessera !== 'auth-failures-cleared') return;
    const scope = scopeOf(message, limiter.scope);
    if (message.tessera === 'auth-failure')
      void limiter.recordFailure(message.clientId, message.address, undefined, scope);
    else limiter.recordSuccess(message.clientId, message.address, scope);
  });
  return limiter;
}

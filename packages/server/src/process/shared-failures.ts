import cluster from 'node:cluster';
import type { LockoutAnnouncer } from '../events/lockout-events.js';
import type { Logger } from 'pino';
import {
  FailureLimiter,
  type FailureLimits,
  type Lockout,
} from '../client-auth/failure-limiter.js';

/**
 * Brute-force counting across the workers of `serve --workers N`. Each worker still counts
 * and locks on its own (so one process behaves as before), and also reports every failure to
 * the primary, which counts them together and sends each lock it decides to every worker.
 * Without it an attacker spreading attempts over N workers got N times the allowance. The
 * primary is told of a success only when it cleared failures, so the token path sends
 * nothing. Counts are per host: instances on several machines still count separately.
 */
type WorkerMessage =
  | { tessera: 'auth-failure'; clientId: string; address: string | undefined }
  | { tessera: 'auth-failures-cleared'; clientId: string };

interface LockMessage {
  tessera: 'auth-lock';
  key: Lockout['key'];
  value: string;
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
  limiter.onFailure = (clientId, address) => send({ tessera: 'auth-failure', clientId, address });
  limiter.onFailuresCleared = (clientId) => send({ tessera: 'auth-failures-cleared', clientId });
  process.on('message', (message: unknown) => {
    if (isLock(message)) limiter.applyLock(message.key, message.value, message.until);
  });
}

/** In the primary: count every worker's failures and send each new lock to all workers. */
export function countFailuresForWorkers(
  limits: FailureLimits,
  logger: Logger,
  nowSeconds: () => number = () => Math.floor(Date.now() / 1000),
  announce: LockoutAnnouncer = () => {},
): void {
  const limiter = new FailureLimiter(limits, nowSeconds);
  limiter.onLockout = (lockout) => {
    announce(lockout);
    const value = lockout.key === 'client_id' ? lockout.clientId : lockout.address;
    if (value === undefined) return;
    const lock: LockMessage = {
      tessera: 'auth-lock',
      key: lockout.key,
      value,
      until: nowSeconds() + lockout.retryAfter,
    };
    logger.warn(
      { lockout: lockout.key, client_id: lockout.clientId, address: lockout.address },
      'client authentication locked out after repeated failures across workers',
    );
    for (const worker of Object.values(cluster.workers ?? {})) {
      if (worker?.isConnected()) worker.send(lock);
    }
  };
  cluster.on('message', (_worker, message: WorkerMessage | undefined) => {
    if (message?.tessera === 'auth-failure')
      limiter.recordFailure(message.clientId, message.address);
    else if (message?.tessera === 'auth-failures-cleared') limiter.recordSuccess(message.clientId);
  });
}

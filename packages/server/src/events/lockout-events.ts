import type { Logger } from 'pino';
import type { Lockout } from '../client-auth/failure-limiter.js';
import type { Store } from '../store/contract.js';
import type { NewEvent } from './event-types.js';

export type LockoutAnnouncer = (
  lockout: Lockout & { clientId: string; address: string | undefined },
) => void;

/**
 * `lockout.started` when a brute-force lock begins and `lockout.ended` when it runs out, in the
 * outbox. A lock lives in memory, so its events are the only write: each in a transaction of its
 * own, off the request (a failed write is logged, never a refusal's business). The end is a
 * timer: a process that stops before it never writes `lockout.ended`. One process announces
 * each lock: the primary under `serve --workers N` (it sees every worker's failures), else the
 * server itself.
 */
export function announceLockouts(
  store: Pick<Store, 'appendEvents'>,
  logger: Logger,
  nowMs: () => number = Date.now,
): LockoutAnnouncer {
  const append = (event: NewEvent) =>
    store
      .appendEvents([event])
      .catch((error: unknown) => logger.error({ err: error }, 'recording a lockout event failed'));
  return (lockout) => {
    const started = nowMs();
    const data = {
      key: lockout.key,
      client_id: lockout.clientId,
      ...(lockout.key === 'address' ? { address: lockout.address } : {}),
      seconds: lockout.retryAfter,
      until: new Date(started + lockout.retryAfter * 1000).toISOString(),
    };
    void append({ type: 'lockout.started', clientId: lockout.clientId, at: started, data });
    setTimeout(
      () => void append({ type: 'lockout.ended', clientId: lockout.clientId, at: nowMs(), data }),
      lockout.retryAfter * 1000,
    ).unref();
  };
}

import type { Logger } from 'pino';
import type { LockoutEvent } from '../client-auth/failure-limiter.js';
import type { Store } from '../store/contract.js';

/**
 * The failure limiter's `lockout.started` / `lockout.ended` (client-auth/failure-limiter.ts),
 * in the outbox. A lock lives in memory, so its event is the only write: each in a transaction
 * of its own, off the request (a failed write is logged, never a refusal's business). One
 * process announces each lock: the primary under `serve --workers N` (it sees every worker's
 * failures), else the server itself. An alert that refuses nobody (`client_id_all_addresses`)
 * is announced too, with `refused: false`. The row is the lock's tenant's (issue 21), as its
 * webhook body's `tenant` says.
 */
export function announceLockouts(
  store: Pick<Store, 'forTenant'>,
  logger: Logger,
  nowMs: () => number = Date.now,
): (event: LockoutEvent) => void {
  return (event) => {
    const data = {
      key: event.key,
      refused: event.refused,
      client_id: event.clientId,
      ...(event.key === 'address' ? { address: event.address } : {}),
      until: new Date(event.until * 1000).toISOString(),
    };
    store
      .forTenant(event.tenant)
      .appendEvents([{ type: event.type, clientId: event.clientId, at: nowMs(), data }])
      .catch((error: unknown) =>
        logger.error({ err: error, tenant: event.tenant }, 'recording a lockout event failed'),
      );
  };
}

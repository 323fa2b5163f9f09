import type { Logger } from 'pino';
import type { Store } from '../store/contract.js';
import { EventDeliverer } from './event-delivery.js';

/**
 * Starts delivering the outbox to `webhook` (none configured: nothing runs, events stay in the
 * database for `tessera events tail`). Returns the stop function.
 */
export function startEventDelivery(
  store: Store,
  webhook: string | undefined,
  secret: string | undefined,
  logger: Logger,
): (() => Promise<void>) | undefined {
  if (webhook === undefined) return undefined;
  const deliverer = new EventDeliverer(store, { url: webhook, secret }, logger);
  deliverer.start();
  logger.info(
    { webhook: new URL(webhook).host, signed: secret !== undefined },
    'delivering events to the webhook',
  );
  return () => deliverer.stop();
}

import type { Logger } from 'pino';
import type { Store } from '../contract.js';

/** Lag beyond which a replica-attached instance warns (s): changes then take that much longer. */
const lagWarningSeconds = 10;

/**
 * A check to run every second on a replica-attached instance: logs when its replica stops
 * answering, answers again, or falls behind, once per transition rather than per poll.
 */
export function replicaTransitions(store: Store, logger: Logger): () => Promise<void> {
  let reachable: boolean | undefined;
  let lagging = false;
  return async () => {
    const state = store.replication;
    if (!state) return;
    if (state.reachable !== reachable) {
      if (state.reachable)
        logger.info(
          { replica: state.current, lagSeconds: state.lagSeconds },
          'database replica answers; caches catch up from the change feed',
        );
      else if (reachable !== undefined)
        logger.warn(
          { replica: state.current },
          'database replica unreachable: serving cached clients, not hearing of changes',
        );
      reachable = state.reachable;
    }
    const behind = state.reachable && (state.lagSeconds ?? 0) > lagWarningSeconds;
    if (behind !== lagging) {
      if (behind)
        logger.warn(
          { lagSeconds: state.lagSeconds },
          'database replica is behind the primary: changes reach this instance late',
        );
      else logger.info({ lagSeconds: state.lagSeconds }, 'database replica caught up');
      lagging = behind;
    }
  };
}

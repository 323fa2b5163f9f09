import { MemorySharedState } from './memory-state.js';
import { PostgresSharedState } from './postgres-state.js';
import { RedisSharedState } from './redis-state.js';
import { epochSeconds, type SharedState } from './shared-state.js';

/**
 * The backend for a configuration: Redis when `--shared-state` names one, the store's
 * PostgreSQL database when it is one, else undefined: one machine, where the primary of
 * `serve --workers N` (or the single process) keeps the state in memory
 * (`MemorySharedState` and the process/ modules).
 */
export async function openSharedState(
  settings: { sharedState: string | undefined; database: string },
  nowSeconds: () => number = epochSeconds,
): Promise<SharedState | undefined> {
  if (settings.sharedState !== undefined)
    return RedisSharedState.connect(settings.sharedState, nowSeconds);
  if (/^postgres(ql)?:\/\//.test(settings.database))
    return new PostgresSharedState(settings.database, nowSeconds);
  return undefined;
}

export { MemorySharedState };

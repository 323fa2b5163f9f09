import type { ReplayGuard, ReplayOutcome } from '@tessera/protocol';
import type { Logger } from 'pino';
import type { ReplayGuards } from '../context.js';
import { throttled, type SharedState } from './shared-state.js';

/** How long a request waits for the shared backend before trusting the local answer. */
export const sharedStateTimeoutMs = 2_000;

/** `promise`, or a rejection after `ms`. */
export function withTimeout<T>(promise: Promise<T>, ms: number = sharedStateTimeoutMs): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`shared state did not answer in ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * One-time `jti`s remembered here first (a replay at this process costs no round trip), then
 * in the shared backend, so a proof or assertion used at one instance is refused at every
 * other. When the backend fails or is slow, the local answer stands (logged): refusing every
 * DPoP and assertion request during a database outage would stop more than it protects.
 */
export class SharedReplayGuard implements ReplayGuard {
  constructor(
    private readonly namespace: string,
    private readonly local: ReplayGuard,
    private readonly shared: SharedState,
    private readonly onError: (error: unknown) => void,
  ) {}

  async use(key: string, expiresAt: number): Promise<ReplayOutcome> {
    const local = await this.local.use(key, expiresAt);
    if (local !== 'fresh') return local;
    try {
      return await withTimeout(this.shared.claimOnce(this.namespace, key, expiresAt));
    } catch (error) {
      this.onError(error);
      return local;
    }
  }
}

/** `local`, each consulting `shared` after its own cache when there is one. */
export function sharedReplayGuards(
  local: ReplayGuards,
  shared: SharedState | undefined,
  logger: Logger | undefined,
): ReplayGuards {
  if (shared === undefined) return local;
  const onError = throttled((error, dropped) =>
    logger?.warn(
      { err: error, dropped },
      'shared state unavailable: jti checked on this host only',
    ),
  );
  return {
    dpop: new SharedReplayGuard('jti/dpop', local.dpop, shared, onError),
    assertions: new SharedReplayGuard('jti/assertions', local.assertions, shared, onError),
  };
}

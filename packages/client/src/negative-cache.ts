import type { TokenClientError } from './errors.js';
import type { CacheEntry } from './token-cache.js';

/** Resolved negative-cache policy (ms). */
export interface NegativeCachePolicy {
  afterFailures: number;
  ms: number;
  maxMs: number;
}

/**
 * Records a failed token request. From the `afterFailures`-th consecutive failure on, the key
 * is blocked for `ms · 2^(n - afterFailures)`, capped at `maxMs`, so bad credentials cost a
 * provider a few requests a minute, not one per call. A `Retry-After` from the server blocks
 * at least that long (within the same ceiling) even without the negative cache.
 */
export function recordFailure(
  entry: CacheEntry,
  error: TokenClientError,
  policy: NegativeCachePolicy | undefined,
  ceilingMs: number,
  now: number,
): void {
  entry.failures += 1;
  let until = 0;
  if (policy !== undefined && entry.failures >= policy.afterFailures) {
    until = now + Math.min(policy.ms * 2 ** (entry.failures - policy.afterFailures), policy.maxMs);
  }
  if (error.retryAfterMs !== undefined)
    until = Math.max(until, now + Math.min(error.retryAfterMs, ceilingMs));
  if (until > now) entry.blocked = { error, until };
}

/** Whether calls for `entry` fail fast at `now`. */
export function isBlocked(entry: CacheEntry, now: number): boolean {
  return entry.blocked !== undefined && now < entry.blocked.until;
}

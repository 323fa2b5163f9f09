import type { TokenClientError } from './errors.js';
import type { TokenTarget } from './events.js';
import type { TokenSchedule } from './refresh-schedule.js';

/** A token held in memory with its renewal plan. */
export interface CachedToken {
  accessToken: string;
  tokenType: 'Bearer' | 'DPoP';
  scope: string | undefined;
  expiresIn: number;
  schedule: TokenSchedule;
  source: 'endpoint' | 'store';
}

/** Everything the client knows about one cache key. */
export interface CacheEntry {
  readonly key: string;
  readonly target: TokenTarget;
  token: CachedToken | undefined;
  /** The one token request for this key; cleared when it settles, so failures are not reused. */
  inFlight: Promise<CachedToken> | undefined;
  /** Consecutive failures, for the negative cache. */
  failures: number;
  /** Negative cache: fail fast with `error` until `until` (ms). */
  blocked: { error: TokenClientError; until: number } | undefined;
  /** The last token a resource rejected: never taken back from a shared store. */
  rejected: string | undefined;
}

/**
 * The in-process token cache: one {@link CacheEntry} per cache key. Bounded, because keys
 * come from callers' scope and audience choices; when full, the oldest idle entry goes.
 */
export class TokenCache {
  readonly #entries = new Map<string, CacheEntry>();
  readonly #max: number;

  constructor(max = 1000) {
    this.#max = max;
  }

  entry(key: string, target: TokenTarget): CacheEntry {
    let entry = this.#entries.get(key);
    if (entry === undefined) {
      if (this.#entries.size >= this.#max) this.#evictOne();
      entry = {
        key,
        target,
        token: undefined,
        inFlight: undefined,
        failures: 0,
        blocked: undefined,
        rejected: undefined,
      };
      this.#entries.set(key, entry);
    }
    return entry;
  }

  values(): IterableIterator<CacheEntry> {
    return this.#entries.values();
  }

  clear(): void {
    this.#entries.clear();
  }

  #evictOne(): void {
    for (const [key, entry] of this.#entries) {
      if (entry.inFlight === undefined) {
        this.#entries.delete(key);
        return;
      }
    }
  }
}

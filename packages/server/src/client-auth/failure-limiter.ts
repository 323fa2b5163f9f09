import { LruMap } from '../lib/lru.js';
import {
  ClientAuthError,
  clientAuthFailures,
  type ClientAuthFailureReason,
} from './failure-reasons.js';

export interface FailureLimits {
  /** Failed authentications within `windowSeconds` that lock a client_id. */
  perClient: number;
  /** Failed authentications within `windowSeconds` that lock a source address. */
  perAddress: number;
  windowSeconds: number;
  /** How long a lock lasts; it expires by itself. */
  lockSeconds: number;
}

export const defaultFailureLimits: FailureLimits = {
  perClient: 10,
  perAddress: 50,
  windowSeconds: 60,
  lockSeconds: 60,
};

interface Counter {
  windowStart: number;
  failures: number;
  lockedUntil: number;
}

export interface Lockout {
  key: 'client_id' | 'address';
  retryAfter: number;
}

/**
 * Brute-force protection for client secrets: failed authentications are counted per
 * client_id and per source address in fixed windows; past a limit, that client_id (or
 * address) is refused with 429 until the lock expires. Other clients are unaffected. Counters
 * are bounded (LRU) so a flood of made-up ids cannot grow memory without limit.
 */
export class FailureLimiter {
  readonly #clients = new LruMap<string, Counter>(100_000);
  readonly #addresses = new LruMap<string, Counter>(100_000);
  /** Called once per new lock, for logs and metrics. */
  onLockout:
    ((lockout: Lockout & { clientId: string; address: string | undefined }) => void) | undefined;
  /**
   * Called with every failure and with a success that cleared failures, so the primary of
   * `serve --workers N` can count across workers (process/shared-failures.ts).
   */
  onFailure:
    | ((
        clientId: string,
        address: string | undefined,
        reason: ClientAuthFailureReason | undefined,
      ) => void)
    | undefined;
  onFailuresCleared: ((clientId: string) => void) | undefined;

  constructor(
    private readonly limits: FailureLimits = defaultFailureLimits,
    private readonly nowSeconds: () => number = () => Math.floor(Date.now() / 1000),
  ) {}

  /** Throws a 429 when the client_id or the address is locked. */
  check(clientId: string, address: string | undefined): void {
    const now = this.nowSeconds();
    const locked =
      this.#lockedFor(this.#clients.get(clientId), now) ??
      this.#lockedFor(address === undefined ? undefined : this.#addresses.get(address), now);
    if (locked !== undefined) {
      throw new ClientAuthError(
        'locked_out',
        {
          status: 429,
          headers: { 'retry-after': String(locked) },
          detail: `lockout in force for client_id ${clientId} / address ${address ?? '-'}`,
        },
        `Too many failed authentication attempts; retry after ${locked} seconds`,
      );
    }
  }

  /**
   * Counts a failed authentication. `reason` is the typed one when the failure was a refused
   * credential (`undefined` for anything else thrown while checking, e.g. a store outage,
   * which counts as today); reasons whose table entry says `lockout: false` are not counted.
   */
  recordFailure(
    clientId: string,
    address: string | undefined,
    reason?: ClientAuthFailureReason,
  ): void {
    if (reason !== undefined && !clientAuthFailures[reason].lockout) return;
    this.onFailure?.(clientId, address, reason);
    const now = this.nowSeconds();
    if (this.#count(this.#clients, clientId, this.limits.perClient, now)) {
      this.onLockout?.({
        key: 'client_id',
        retryAfter: this.limits.lockSeconds,
        clientId,
        address,
      });
    }
    if (
      address !== undefined &&
      this.#count(this.#addresses, address, this.limits.perAddress, now)
    ) {
      this.onLockout?.({ key: 'address', retryAfter: this.limits.lockSeconds, clientId, address });
    }
  }

  /** A success clears the client's failure count (not the address's). */
  recordSuccess(clientId: string): void {
    // Almost every success finds nothing to clear: only then is anyone told.
    if (this.#clients.peek(clientId) === undefined) return;
    this.#clients.delete(clientId);
    this.onFailuresCleared?.(clientId);
  }

  /** A lock decided elsewhere (another worker's failures), in force here until `until`. */
  applyLock(key: Lockout['key'], value: string, until: number): void {
    const map = key === 'client_id' ? this.#clients : this.#addresses;
    const counter = map.get(value);
    if (counter) counter.lockedUntil = Math.max(counter.lockedUntil, until);
    else map.set(value, { windowStart: this.nowSeconds(), failures: 0, lockedUntil: until });
  }

  #lockedFor(counter: Counter | undefined, now: number): number | undefined {
    return counter && counter.lockedUntil > now ? counter.lockedUntil - now : undefined;
  }

  /** Counts one failure; returns true when it starts a lock. */
  #count(map: LruMap<string, Counter>, key: string, limit: number, now: number): boolean {
    let counter = map.get(key);
    if (!counter || now - counter.windowStart >= this.limits.windowSeconds) {
      counter = { windowStart: now, failures: 0, lockedUntil: counter?.lockedUntil ?? 0 };
      map.set(key, counter);
    }
    counter.failures += 1;
    if (counter.failures >= limit && counter.lockedUntil <= now) {
      counter.lockedUntil = now + this.limits.lockSeconds;
      counter.failures = 0;
      counter.windowStart = now;
      return true;
    }
    return false;
  }
}

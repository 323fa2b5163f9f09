import { LruMap } from '../lib/lru.js';
import type { SharedState } from '../shared-state/shared-state.js';
import { withTimeout } from '../shared-state/shared-replay-guard.js';
import {
  ClientAuthError,
  clientAuthFailures,
  type ClientAuthFailureReason,
} from './failure-reasons.js';
import { addressKey } from './source-address.js';

export interface FailureLimits {
  /**
   * Failed authentications of one client_id from one source address within `windowSeconds`
   * that make that address wait for that client_id; the same client_id from other addresses
   * is not affected. Also the count, across addresses, at which the client-wide alert fires.
   */
  perClient: number;
  /** Failed authentications from one source address (any client_id) that make it wait. */
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

/** The tenant's name used for the server's own counts (tenants/tenant-name.ts). */
const defaultTenant = 'default';

/**
 * Issue 21: whose counts a failure joins and by which limits it is judged. Every tenant
 * counts apart (an address locked at one tenant still authenticates at another), in the one
 * set of bounded maps of the process.
 */
export interface FailureScope {
  tenant: string;
  limits: FailureLimits;
}

/**
 * What a lock is on: `client_id` is one client_id from one source address, `address` one
 * source address (IPv6: its /64) whatever client_ids it tries; `client_id_all_addresses` is
 * the alert for one client_id failing from several addresses, which refuses nobody.
 */
export type LockoutKey = 'client_id' | 'address' | 'client_id_all_addresses';

/**
 * A lock (or the client-wide alert) starting or ending: what the logs, the metrics and, later,
 * the `lockout.started` / `lockout.ended` events are made from.
 */
export interface LockoutEvent {
  type: 'lockout.started' | 'lockout.ended';
  /** The tenant whose counts locked (`default`: the server's own). */
  tenant: string;
  key: LockoutKey;
  /** False for `client_id_all_addresses`: seen and reported, nobody refused. */
  refused: boolean;
  /** The client_id of the failure that started it (also for an `address` lock). */
  clientId: string;
  /** The source address of that failure. */
  address: string | undefined;
  /** Epoch seconds: when it ends. */
  until: number;
}

interface Counter {
  windowStart: number;
  failures: number;
  /** Epoch seconds: the lock (or alert) is in force before this. */
  until: number;
}

/** Namespaces in the shared state (shared-state/): the default tenant's, as before tenants. */
const namespaces = {
  client_id: 'auth-failures/client-address',
  address: 'auth-failures/address',
  client_id_all_addresses: 'auth-failures/client',
} as const satisfies Record<LockoutKey, string>;

/** A tenant's namespace in the shared state: `t/NAME/` before the default's (no overlap). */
const namespaceOf = (tenant: string, key: LockoutKey): string =>
  tenant === defaultTenant ? namespaces[key] : `t/${tenant}/${namespaces[key]}`;

/**
 * A tenant's key in the in-memory maps: the default tenant's as before tenants, another's
 * behind `\0NAME\0`. A default-tenant key could only look the same if its client_id began
 * with a NUL, which no registered client_id does; such a request shares counts with its own
 * source address only, which its sender can lock anyway.
 */
const scoped = (tenant: string, key: string): string =>
  tenant === defaultTenant ? key : `\u0000${tenant}\u0000${key}`;

/** Locks and alerts remembered so their end can be reported; beyond this, ends go unreported. */
const trackedLimit = 10_000;

/**
 * Brute-force protection for client secrets that an outsider cannot aim at a victim. Failed
 * authentications are counted in fixed windows per (client_id, source address) and per source
 * address; past a limit only that address waits (429), for that client_id or for every one.
 * A correct credential from another address is never refused because of someone else's
 * failures: knowing a client_id (it is every token's `sub`) is not enough to lock its owner
 * out. With 256-bit generated secrets there is nothing to brute-force anyway; the lock slows
 * guessing per address and keeps the cost of a flood bounded (a locked address does no store
 * read). Failures of one client_id from several addresses raise an alert (log line, metric,
 * `lockout.started` with `refused: false`) and refuse no one.
 *
 * Memory is bounded: every counter map is an LRU, so a flood of made-up client_ids or
 * addresses evicts the oldest counters instead of growing. With a `shared` state (PostgreSQL
 * or Redis) the counts are also kept there, so every instance counts together; a process
 * learns of a lock decided elsewhere with its next failure for that key (at most one more
 * attempt per process). A success writes nothing, except to clear failures it finds.
 */
export class FailureLimiter {
  readonly #pairs = new LruMap<string, Counter>(100_000);
  readonly #addresses = new LruMap<string, Counter>(100_000);
  readonly #clients = new LruMap<string, Counter>(100_000);
  readonly #tracked = new Map<string, LockoutEvent>();
  /** Counts across instances (undefined: this process, or its primary, counts alone). */
  shared: SharedState | undefined;
  /** Every lock and alert that starts or ends here. */
  onEvent: ((event: LockoutEvent) => void) | undefined;
  /** The shared state failed or did not answer in time; local counting went on. */
  onSharedError: ((error: unknown) => void) | undefined;
  /**
   * Called with every failure and with a success that cleared failures, so the primary of
   * `serve --workers N` can count across workers (process/shared-failures.ts).
   */
  onFailure:
    | ((
        clientId: string,
        address: string | undefined,
        reason: ClientAuthFailureReason | undefined,
        scope: FailureScope,
      ) => void)
    | undefined;
  onFailuresCleared:
    ((clientId: string, address: string | undefined, scope: FailureScope) => void) | undefined;
  /** The default tenant's scope: the server's limits. */
  readonly scope: FailureScope;

  constructor(
    limits: FailureLimits = defaultFailureLimits,
    private readonly nowSeconds: () => number = () => Math.floor(Date.now() / 1000),
  ) {
    this.scope = { tenant: defaultTenant, limits };
  }

  /** The counts of one tenant, judged by its limits, as the authenticator of its context uses them. */
  forTenant(tenant: string, limits: FailureLimits): TenantFailures {
    return new TenantFailures(this, { tenant, limits });
  }

  /** How many counters are held (each map is bounded at 100,000). */
  get size(): { pairs: number; addresses: number; clients: number } {
    return {
      pairs: this.#pairs.size,
      addresses: this.#addresses.size,
      clients: this.#clients.size,
    };
  }

  /** Throws a 429 when this client_id from this address, or this address, is locked. */
  check(clientId: string, address: string | undefined, scope: FailureScope = this.scope): void {
    if (this.#pairs.size === 0 && this.#addresses.size === 0) return;
    const now = this.nowSeconds();
    const from = addressKey(address);
    const { tenant } = scope;
    const locked =
      lockedFor(this.#pairs.get(scoped(tenant, pairKey(clientId, from))), now) ??
      lockedFor(this.#addresses.get(scoped(tenant, from)), now);
    if (locked !== undefined) {
      throw new ClientAuthError(
        'locked_out',
        {
          status: 429,
          headers: { 'retry-after': String(locked) },
          detail: `lockout in force for client_id ${clientId} from address ${address ?? '-'} at tenant ${tenant}`,
        },
        `Too many failed authentication attempts; retry after ${locked} seconds`,
      );
    }
  }

  /**
   * Counts a failed authentication. `reason` is the typed one when the failure was a refused
   * credential (`undefined` for anything else thrown while checking, e.g. a store outage,
   * which counts too); reasons whose table entry says `lockout: false` are not counted.
   * Resolves once the shared state (if any) has counted it too, so a lock it reveals applies
   * to the next attempt; it never rejects.
   */
  async recordFailure(
    clientId: string,
    address: string | undefined,
    reason?: ClientAuthFailureReason,
    scope: FailureScope = this.scope,
  ): Promise<void> {
    if (reason !== undefined && !clientAuthFailures[reason].lockout) return;
    this.onFailure?.(clientId, address, reason, scope);
    const { tenant } = scope;
    const from = addressKey(address);
    const pair = pairKey(clientId, from);
    const now = this.nowSeconds();
    const window = scope.limits.windowSeconds;
    this.#decide(scope, clientId, address, from, now, {
      client_id: this.#count(this.#pairs, scoped(tenant, pair), now, window),
      address: this.#count(this.#addresses, scoped(tenant, from), now, window),
      client_id_all_addresses: this.#count(this.#clients, scoped(tenant, clientId), now, window),
    });
    const shared = this.shared;
    if (shared === undefined) return;
    try {
      const [byPair, byAddress, byClient] = await withTimeout(
        Promise.all([
          shared.increment(namespaceOf(tenant, 'client_id'), pair, window),
          shared.increment(namespaceOf(tenant, 'address'), from, window),
          shared.increment(namespaceOf(tenant, 'client_id_all_addresses'), clientId, window),
        ]),
      );
      this.#decide(scope, clientId, address, from, this.nowSeconds(), {
        client_id: byPair.count,
        address: byAddress.count,
        client_id_all_addresses: byClient.count,
      });
    } catch (error) {
      this.onSharedError?.(error);
    }
  }

  /**
   * A success clears the failures of this client_id from this address (not the address's,
   * not those from elsewhere). Almost every success finds nothing to clear: then nothing is
   * written or sent.
   */
  recordSuccess(
    clientId: string,
    address: string | undefined,
    scope: FailureScope = this.scope,
  ): void {
    if (this.#pairs.size === 0) return;
    const pair = pairKey(clientId, addressKey(address));
    const mapKey = scoped(scope.tenant, pair);
    if (this.#pairs.peek(mapKey) === undefined) return;
    this.#pairs.delete(mapKey);
    this.onFailuresCleared?.(clientId, address, scope);
    this.shared
      ?.reset(namespaceOf(scope.tenant, 'client_id'), pair, scope.limits.windowSeconds)
      .catch((error: unknown) => this.onSharedError?.(error));
  }

  /**
   * A lock decided elsewhere (another worker's failures), in force here until `until`, on
   * tenant `tenant`'s counts.
   */
  applyLock(
    key: Exclude<LockoutKey, 'client_id_all_addresses'>,
    clientId: string,
    address: string | undefined,
    until: number,
    tenant: string = defaultTenant,
  ): void {
    const from = addressKey(address);
    const [map, mapKey] =
      key === 'client_id'
        ? [this.#pairs, scoped(tenant, pairKey(clientId, from))]
        : [this.#addresses, scoped(tenant, from)];
    const counter = map.get(mapKey);
    if (counter) counter.until = Math.max(counter.until, until);
    else map.set(mapKey, { windowStart: this.nowSeconds(), failures: 0, until });
  }

  /** Reports the locks and alerts that have ended (run every second or so). */
  sweep(now: number = this.nowSeconds()): void {
    for (const [id, started] of this.#tracked) {
      if (started.until > now) continue;
      this.#tracked.delete(id);
      this.onEvent?.({ ...started, type: 'lockout.ended' });
    }
  }

  #decide(
    scope: FailureScope,
    clientId: string,
    address: string | undefined,
    from: string,
    now: number,
    counts: Record<LockoutKey, number>,
  ): void {
    const { perClient, perAddress } = scope.limits;
    const { tenant } = scope;
    const start = (key: LockoutKey, map: LruMap<string, Counter>, mapKey: string) =>
      this.#start(scope, key, map, scoped(tenant, mapKey), clientId, address, now);
    if (counts.client_id >= perClient) start('client_id', this.#pairs, pairKey(clientId, from));
    if (counts.address >= perAddress) start('address', this.#addresses, from);
    // More failures for the client_id than from this address: some came from elsewhere.
    if (
      counts.client_id_all_addresses >= perClient &&
      counts.client_id_all_addresses > counts.client_id
    )
      start('client_id_all_addresses', this.#clients, clientId);
  }

  #start(
    scope: FailureScope,
    key: LockoutKey,
    map: LruMap<string, Counter>,
    mapKey: string,
    clientId: string,
    address: string | undefined,
    now: number,
  ): void {
    let counter = map.get(mapKey);
    if (!counter) {
      counter = { windowStart: now, failures: 0, until: 0 };
      map.set(mapKey, counter);
    }
    if (counter.until > now) return;
    counter.until = now + scope.limits.lockSeconds;
    const event: LockoutEvent = {
      type: 'lockout.started',
      tenant: scope.tenant,
      key,
      refused: key !== 'client_id_all_addresses',
      clientId,
      address,
      until: counter.until,
    };
    const id = `${key}\u0000${mapKey}`;
    if (this.#tracked.has(id) || this.#tracked.size < trackedLimit) this.#tracked.set(id, event);
    this.onEvent?.(event);
  }

  /**
   * Counts one failure; returns the count in the window that began with the first failure
   * counted (the shared state's windows are aligned to the epoch instead, so that every
   * process agrees on them). A lock does not reset the count: another failure in the same
   * window, once the lock has passed, locks again at once.
   */
  #count(map: LruMap<string, Counter>, key: string, now: number, window: number): number {
    let counter = map.get(key);
    if (!counter) {
      counter = { windowStart: now, failures: 0, until: 0 };
      map.set(key, counter);
    } else if (now - counter.windowStart >= window) {
      counter.windowStart = now;
      counter.failures = 0;
    }
    counter.failures += 1;
    return counter.failures;
  }
}

const lockedFor = (counter: Counter | undefined, now: number): number | undefined =>
  counter && counter.until > now ? counter.until - now : undefined;

const pairKey = (clientId: string, from: string): string => `${clientId}\u0000${from}`;

/**
 * One tenant's view of the process's limiter: what a tenant context's authenticator counts
 * with. Made again when the tenant's context is rebuilt after a change, so changed limits
 * apply from its next request; the counts, held by the limiter, stay.
 */
export class TenantFailures {
  constructor(
    readonly limiter: FailureLimiter,
    readonly scope: FailureScope,
  ) {}

  check(clientId: string, address: string | undefined): void {
    this.limiter.check(clientId, address, this.scope);
  }

  recordFailure(
    clientId: string,
    address: string | undefined,
    reason?: ClientAuthFailureReason,
  ): Promise<void> {
    return this.limiter.recordFailure(clientId, address, reason, this.scope);
  }

  recordSuccess(clientId: string, address: string | undefined): void {
    this.limiter.recordSuccess(clientId, address, this.scope);
  }

  /** The limiter's counter sizes (tests and the bench read them). */
  get size() {
    return this.limiter.size;
  }

  get shared(): SharedState | undefined {
    return this.limiter.shared;
  }
}

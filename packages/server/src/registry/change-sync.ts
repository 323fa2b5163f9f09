import type { Logger } from 'pino';
import type { KeyRing } from '../keys/key-ring.js';
import type { RevocationList } from '../revocation/revocation-list.js';
import type { Change, Store } from '../store/contract.js';
import { defaultTenant } from '../tenants/tenant-name.js';
import type { ClientCache } from './client-cache.js';

/** Shortest interval between two checks for other processes' commits on the request path (ms). */
const foreignCheckIntervalMs = 10;
/** Longest a request waits for the change feed before answering from cache (ms). */
const maxSyncWaitMs = 250;

function boundedWait(pending: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
    timer.unref();
  });
  return Promise.race([pending, timeout]).finally(() => clearTimeout(timer));
}

/** The caches of one tenant that changes are applied to. */
export interface TenantCaches {
  store: Store;
  clients: ClientCache;
  revocations: RevocationList;
  keys: KeyRing;
}

export interface ChangeSyncTargets extends TenantCaches {
  logger: Logger;
  /**
   * Issue 21: the other tenants (tenants/tenant-registry.ts): a change of tenant T goes to
   * T's caches when they are loaded; a `tenant` change to the registry itself.
   */
  tenants?: {
    loaded(name: string): Promise<TenantCaches | undefined>;
    changed(name: string): Promise<void>;
  };
}

/**
 * Keeps this process's caches (clients, revocations, keys) in step with commits other
 * processes make, by reading the store's change feed from a cursor: on every change
 * notification, and on the request path when the store says another process committed.
 */
export class ChangeSync {
  readonly #targets: ChangeSyncTargets;
  #cursor: number;
  #syncing: Promise<void> | undefined;
  // A notification that arrives while a sync runs may name a commit that sync's read missed:
  // remember it and read once more, or the change would wait for the next notification.
  #resync = false;
  #lastForeignCheck = -Infinity;
  #unwatch: (() => void) | undefined;

  private constructor(targets: ChangeSyncTargets, cursor: number) {
    this.#targets = targets;
    this.#cursor = cursor;
  }

  /** Starts from the store's latest change: the caches are assumed fresh as of now. */
  static async open(targets: ChangeSyncTargets): Promise<ChangeSync> {
    return new ChangeSync(targets, await targets.store.latestChange());
  }

  /** Applies changes on every notification of the store, until `close`. */
  watch(): void {
    this.#unwatch = this.#targets.store.watch(() => void this.sync());
  }

  /** Applies every change since the cursor; one run at a time, errors logged. */
  sync(): Promise<void> {
    if (this.#syncing) {
      this.#resync = true;
      return this.#syncing;
    }
    this.#syncing = (async () => {
      do {
        this.#resync = false;
        await this.#apply().catch((error: unknown) =>
          this.#targets.logger.error({ err: error }, 'applying store changes failed'),
        );
      } while (this.#resync);
    })().finally(() => {
      this.#syncing = undefined;
    });
    return this.#syncing;
  }

  /**
   * For a request: applies changes other processes committed, if there are any (cheap when
   * there are none); undefined when there is nothing to wait for, which spares the token path
   * an await. A request waits for a sync already under way (so it sees a change just
   * announced), but not for long: a hung database must not hold up issuance from cache.
   */
  forRequest(): Promise<void> | undefined {
    if (this.#foreignChangesDue()) return boundedWait(this.sync(), maxSyncWaitMs);
    return this.#syncing ? boundedWait(this.#syncing, maxSyncWaitMs) : undefined;
  }

  /** Stops watching and waits for a sync under way. */
  async close(): Promise<void> {
    this.#unwatch?.();
    await this.#syncing;
  }

  async #apply(): Promise<void> {
    const { store, tenants } = this.#targets;
    const { changes, cursor: next } = await store.changesSince(this.#cursor);
    // The changes of each tenant together, the default tenant's caches being this process's own.
    const byTenant = new Map<string, Change[]>();
    for (const change of changes) {
      if (change.kind === 'tenant') {
        await tenants?.changed(change.ref);
        continue;
      }
      const list = byTenant.get(change.tenant);
      if (list) list.push(change);
      else byTenant.set(change.tenant, [change]);
    }
    for (const [tenant, list] of byTenant) {
      const caches = tenant === defaultTenant ? this.#targets : await tenants?.loaded(tenant);
      if (caches) await applyChanges(caches, list);
    }
    this.#cursor = next;
  }

  // Requests ask the store for other processes' commits at most every 10 ms: per request,
  // `PRAGMA data_version` cost ~6 % of the token endpoint's event loop under load, and a
  // change is still seen by the first request after it except within 10 ms of a check.
  #foreignChangesDue(): boolean {
    const now = performance.now();
    if (now - this.#lastForeignCheck < foreignCheckIntervalMs) return false;
    this.#lastForeignCheck = now;
    return this.#targets.store.hasForeignChanges();
  }
}

async function applyChanges(caches: TenantCaches, changes: readonly Change[]): Promise<void> {
  const { store, clients, revocations, keys } = caches;
  let keysChanged = false;
  let revocationsChanged = false;
  for (const change of changes) {
    // `*`: a bulk import (Store.importClients), which may have created any id.
    if (change.kind === 'client') {
      if (change.ref === '*') clients.clear();
      else clients.invalidate(change.ref);
    } else if (change.kind === 'key') keysChanged = true;
    else if (change.kind === 'revocation') revocationsChanged = true;
  }
  if (revocationsChanged) revocations.apply(await store.listRevocations(revocations.cursor));
  if (keysChanged) await keys.reload();
}

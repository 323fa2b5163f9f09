/**
 * Issue 21: the tenants a process serves. Every tenant row is known from start-up (one
 * query, a name → record map); a tenant's context (its keys, client cache, revocation
 * list, inspector, authenticator: see context.ts `createContext`'s `buildTenant`) is built
 * on its first request, so a thousand tenants cost nothing until they are used. The one
 * change follower of the process (registry/change-sync.ts) tells the registry of `tenant`
 * changes: a changed tenant's context is rebuilt on its next request, a deleted one dropped.
 *
 * For the admin API, the console and metrics: `names()`, `record(name)`, `get(name)` (the
 * built context, or undefined for an unknown tenant), `built()` (contexts built so far).
 */
import type { Logger } from 'pino';
import type { Store, TenantRecord } from '../store/contract.js';
import { defaultTenant, isTenantName } from './tenant-name.js';

const unknownMs = 1_000;
/** Remembered misses at most (a scan of random names must not grow memory). */
const maxUnknown = 10_000;

export class TenantRegistry<Context> {
  readonly #store: Store;
  readonly #build: (tenant: TenantRecord) => Promise<Context>;
  readonly #logger: Logger;
  readonly #dispose: ((context: Context) => void) | undefined;
  readonly #records = new Map<string, TenantRecord>();
  readonly #contexts = new Map<string, Context>();
  readonly #building = new Map<string, Promise<Context>>();
  /** Names found to be no tenant, until when (ms): an unknown name reads the store once a second. */
  readonly #unknown = new Map<string, number>();

  private constructor(
    store: Store,
    build: (tenant: TenantRecord) => Promise<Context>,
    logger: Logger,
    dispose: ((context: Context) => void) | undefined,
  ) {
    this.#store = store;
    this.#build = build;
    this.#logger = logger;
    this.#dispose = dispose;
  }

  /**
   * Reads every tenant row once; builds no context. `dispose` is given every context the
   * registry lets go of (a changed or deleted tenant's, or one built while its tenant
   * changed), to release what it holds of its own (its token hook's connections).
   */
  static async open<Context>(
    store: Store,
    build: (tenant: TenantRecord) => Promise<Context>,
    logger: Logger,
    dispose?: (context: Context) => void,
  ): Promise<TenantRegistry<Context>> {
    const registry = new TenantRegistry(store, build, logger, dispose);
    for (const tenant of await store.listTenants()) registry.#records.set(tenant.name, tenant);
    return registry;
  }

  /** Whether `name` is a tenant of this deployment (not `default`, which is the server itself). */
  has(name: string): boolean {
    return this.#records.has(name);
  }

  record(name: string): TenantRecord | undefined {
    return this.#records.get(name);
  }

  names(): string[] {
    return [...this.#records.keys()].sort();
  }

  get size(): number {
    return this.#records.size;
  }

  /** The tenant's context when it is built already: the token fast path's synchronous look-up. */
  ready(name: string): Context | undefined {
    return this.#contexts.get(name);
  }

  /**
   * The tenant's context, built on first use; undefined for a name that is no tenant. A
   * name not known yet is looked up in the store (a tenant this process created itself, or
   * one whose change has not arrived yet), a miss remembered for a second.
   */
  async get(name: string): Promise<Context | undefined> {
    const ready = this.#contexts.get(name);
    if (ready !== undefined) return ready;
    const record = this.#records.get(name) ?? (await this.#lookUp(name));
    if (!record) return undefined;
    let building = this.#building.get(name);
    if (!building) {
      building = this.#build(record).then(
        (context) => {
          // A change that arrived meanwhile replaced or removed the record: build again.
          if (this.#building.get(name) === building && this.#records.get(name) === record) {
            this.#contexts.set(name, context);
            this.#building.delete(name);
          } else {
            // Serves the requests that waited for it, then goes (dispose closes gracefully).
            if (this.#building.get(name) === building) this.#building.delete(name);
            this.#dispose?.(context);
          }
          return context;
        },
        (error: unknown) => {
          this.#building.delete(name);
          throw error;
        },
      );
      this.#building.set(name, building);
    }
    return building;
  }

  async #lookUp(name: string): Promise<TenantRecord | undefined> {
    if (name === defaultTenant || !isTenantName(name)) return undefined;
    const now = Date.now();
    if ((this.#unknown.get(name) ?? 0) > now) return undefined;
    const record = await this.#store.getTenant(name);
    if (record) {
      this.#unknown.delete(name);
      // A change may have set it meanwhile; the stored row is as new as either.
      this.#records.set(name, record);
      return record;
    }
    if (this.#unknown.size >= maxUnknown) this.#unknown.clear();
    this.#unknown.set(name, now + unknownMs);
    return undefined;
  }

  /** Contexts built so far (key maintenance walks these; the others have nothing loaded). */
  built(): IterableIterator<Context> {
    return this.#contexts.values();
  }

  /**
   * The context a change of tenant `name` applies to: the built one, or the one being built
   * (awaited, so a change made while it loaded is not lost); undefined when none is loaded.
   */
  async loaded(name: string): Promise<Context | undefined> {
    return this.#contexts.get(name) ?? (await this.#building.get(name)?.catch(() => undefined));
  }

  /** A `tenant` change: re-reads the row; the context is rebuilt on the next request. */
  async changed(name: string): Promise<void> {
    if (name === defaultTenant || !isTenantName(name)) return;
    const record = await this.#store.getTenant(name);
    const dropped = this.#contexts.get(name);
    this.#contexts.delete(name);
    this.#building.delete(name);
    if (dropped !== undefined) this.#dispose?.(dropped);
    this.#unknown.delete(name);
    if (record) this.#records.set(name, record);
    else this.#records.delete(name);
    this.#logger.info({ tenant: name, deleted: record === undefined }, 'tenant changed');
  }
}

import { LruMap } from '../lib/lru.js';
import type { ClientRecord, Store } from '../store/contract.js';

export interface ClientCacheOptions {
  /** Most clients kept in memory. */
  capacity?: number;
  /**
   * How long an unknown client_id is remembered as unknown (ms); also how often a known
   * client is read again after a wrong secret ({@link ClientCache.refresh}).
   */
  negativeTtlMs?: number;
  /** Most unknown ids remembered, apart from the clients so a flood never evicts them. */
  negativeCapacity?: number;
  now?: () => number;
}

type Entry = { client: ClientRecord; checkedAt: number };

/**
 * Clients in memory, so the token hot path reads no database for a known client. The store's
 * change feed evicts entries when any process writes them; unknown ids are remembered only
 * briefly so a client created a moment ago is found.
 */
export class ClientCache {
  readonly #store: Store;
  readonly #entries: LruMap<string, Entry>;
  /** Unknown ids and until when they count as unknown: bounded, separate from the clients. */
  readonly #missing: LruMap<string, number>;
  readonly #inFlight = new Map<string, Promise<ClientRecord | undefined>>();
  readonly #negativeTtlMs: number;
  readonly #now: () => number;
  /** Bumped by every invalidation, so a load that raced one does not cache stale data. */
  #generation = 0;
  /** Store reads caused by cache misses; tests use it to prove the hot path does not read. */
  storeReads = 0;
  /** Lookups answered from memory (a client, or a remembered unknown id); for /metrics. */
  hits = 0;

  constructor(store: Store, options: ClientCacheOptions = {}) {
    this.#store = store;
    this.#entries = new LruMap(options.capacity ?? 100_000);
    this.#missing = new LruMap(options.negativeCapacity ?? 10_000);
    this.#negativeTtlMs = options.negativeTtlMs ?? 1_000;
    this.#now = options.now ?? Date.now;
  }

  /** The cached client without touching the store, or `undefined` when it must be loaded. */
  peek(clientId: string): ClientRecord | null | undefined {
    const entry = this.#entries.get(clientId);
    if (entry) {
      this.hits += 1;
      return entry.client;
    }
    const missingUntil = this.#missing.get(clientId);
    if (missingUntil === undefined || missingUntil <= this.#now()) return undefined;
    this.hits += 1;
    return null;
  }

  /**
   * The failure path's constant cost (issue 16): after a wrong secret, a cached client is
   * read again, at most once per negative TTL, exactly as an unknown id is read at most once
   * per negative TTL. So an id costs one store read per window on the failure path whether or
   * not it exists, and timing does not tell them apart. It also finds a secret rotated by
   * another process before its change notice arrives.
   */
  async refresh(clientId: string): Promise<ClientRecord | undefined> {
    const entry = this.#entries.peek(clientId);
    if (!entry || entry.checkedAt + this.#negativeTtlMs > this.#now()) return this.get(clientId);
    this.invalidate(clientId);
    return this.get(clientId);
  }

  async get(clientId: string): Promise<ClientRecord | undefined> {
    const cached = this.peek(clientId);
    if (cached !== undefined) return cached ?? undefined;
    let pending = this.#inFlight.get(clientId);
    if (!pending) {
      pending = this.#load(clientId).finally(() => this.#inFlight.delete(clientId));
      this.#inFlight.set(clientId, pending);
    }
    return pending;
  }

  invalidate(clientId: string): void {
    this.#generation += 1;
    this.#entries.delete(clientId);
    this.#missing.delete(clientId);
  }

  /** Replaces an entry with what a write in this process just committed. */
  put(client: ClientRecord): void {
    this.#missing.delete(client.clientId);
    this.#entries.set(client.clientId, { client, checkedAt: this.#now() });
  }

  clear(): void {
    this.#generation += 1;
    this.#entries.clear();
    this.#missing.clear();
  }

  /** Unknown ids currently remembered (bounded by `negativeCapacity`). */
  get unknownSize(): number {
    return this.#missing.size;
  }

  get size(): number {
    return this.#entries.size;
  }

  async #load(clientId: string): Promise<ClientRecord | undefined> {
    this.storeReads += 1;
    const generation = this.#generation;
    const client = await this.#store.getClient(clientId);
    if (generation !== this.#generation) return client;
    const now = this.#now();
    if (client) this.#entries.set(clientId, { client, checkedAt: now });
    else this.#missing.set(clientId, now + this.#negativeTtlMs);
    return client;
  }
}

import { ReplayCache, type ReplayOutcome } from '@tessera/protocol';
import { LruMap } from '../lib/lru.js';
import { epochSeconds, HashedSharedState, type CounterWindow } from './shared-state.js';

/**
 * The shared state of one machine: in this process's memory, bounded. The primary of
 * `serve --workers N` holds one for its workers; a single process holds its own. Counters are
 * an LRU (a flood of distinct keys evicts the least recently used, memory stays bounded);
 * one-time keys refuse new entries when full of live ones (fail closed).
 */
export class MemorySharedState extends HashedSharedState {
  readonly kind = 'memory';
  readonly #counters: LruMap<string, { windowStart: number; count: number }>;
  readonly #once: ReplayCache;

  constructor(nowSeconds: () => number = epochSeconds, capacity = 200_000) {
    super(nowSeconds);
    this.#counters = new LruMap(capacity);
    this.#once = new ReplayCache(capacity, nowSeconds);
  }

  protected claimHashed(id: string, expiresAt: number): Promise<ReplayOutcome> {
    return Promise.resolve(this.#once.use(id, expiresAt));
  }

  protected addToCounter({ id, start }: CounterWindow, by: number): Promise<number> {
    let counter = this.#counters.get(id);
    if (!counter || counter.windowStart !== start) {
      counter = { windowStart: start, count: 0 };
      this.#counters.set(id, counter);
    }
    counter.count += by;
    return Promise.resolve(counter.count);
  }

  protected readCounter({ id, start }: CounterWindow): Promise<number> {
    const counter = this.#counters.peek(id);
    return Promise.resolve(counter?.windowStart === start ? counter.count : 0);
  }

  protected deleteCounter({ id }: CounterWindow): Promise<void> {
    this.#counters.delete(id);
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

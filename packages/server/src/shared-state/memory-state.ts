import { ReplayCache, type ReplayOutcome } from '@tessera/protocol';
import { LruMap } from '../lib/lru.js';
import { epochSeconds, windowAt, type SharedState, type WindowCount } from './shared-state.js';

/**
 * The shared state of one machine: in this process's memory, bounded. The primary of
 * `serve --workers N` holds one for its workers; a single process holds its own. Counters are
 * an LRU (a flood of distinct keys evicts the least recently used, memory stays bounded);
 * one-time keys refuse new entries when full of live ones (fail closed).
 */
export class MemorySharedState implements SharedState {
  readonly kind = 'memory';
  readonly #counters: LruMap<string, { windowStart: number; count: number }>;
  readonly #once: ReplayCache;

  constructor(
    private readonly nowSeconds: () => number = epochSeconds,
    capacity = 200_000,
  ) {
    this.#counters = new LruMap(capacity);
    this.#once = new ReplayCache(capacity, nowSeconds);
  }

  claimOnce(namespace: string, key: string, expiresAt: number): Promise<ReplayOutcome> {
    return Promise.resolve(this.#once.use(`${namespace}\u0000${key}`, expiresAt));
  }

  increment(namespace: string, key: string, windowSeconds: number, by = 1): Promise<WindowCount> {
    const { start, end } = windowAt(this.nowSeconds(), windowSeconds);
    const id = `${namespace}\u0000${windowSeconds}\u0000${key}`;
    let counter = this.#counters.get(id);
    if (!counter || counter.windowStart !== start) {
      counter = { windowStart: start, count: 0 };
      this.#counters.set(id, counter);
    }
    counter.count += by;
    return Promise.resolve({ count: counter.count, windowStart: start, resetsAt: end });
  }

  count(namespace: string, key: string, windowSeconds: number): Promise<WindowCount> {
    const { start, end } = windowAt(this.nowSeconds(), windowSeconds);
    const counter = this.#counters.peek(`${namespace}\u0000${windowSeconds}\u0000${key}`);
    const count = counter?.windowStart === start ? counter.count : 0;
    return Promise.resolve({ count, windowStart: start, resetsAt: end });
  }

  reset(namespace: string, key: string, windowSeconds: number): Promise<void> {
    this.#counters.delete(`${namespace}\u0000${windowSeconds}\u0000${key}`);
    return Promise.resolve();
  }

  prune(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

import type { ReplayOutcome } from '@tessera/protocol';
import type { Redis } from 'ioredis';
import {
  epochSeconds,
  hashedKey,
  windowAt,
  type SharedState,
  type WindowCount,
} from './shared-state.js';

/**
 * Shared state in Redis (`--shared-state redis://…`): one-time keys with `SET NX PX`, window
 * counters with `INCRBY` + `PEXPIREAT`, so Redis forgets both by itself. ioredis is an
 * optional dependency, loaded only when this backend is configured.
 */
export class RedisSharedState implements SharedState {
  readonly kind = 'redis';

  private constructor(
    private readonly redis: Redis,
    private readonly nowSeconds: () => number,
  ) {}

  static async connect(
    url: string,
    nowSeconds: () => number = epochSeconds,
  ): Promise<RedisSharedState> {
    let RedisClient: typeof Redis;
    try {
      ({ Redis: RedisClient } = await import('ioredis'));
    } catch {
      throw new Error('--shared-state redis://…: the optional dependency ioredis is not installed');
    }
    const redis = new RedisClient(url, {
      lazyConnect: true,
      // A request must not wait long for a Redis that is down: fail, and the caller decides.
      maxRetriesPerRequest: 1,
      connectTimeout: 2_000,
      commandTimeout: 2_000,
    });
    redis.on('error', () => {});
    try {
      await redis.connect();
    } catch (error) {
      redis.disconnect();
      throw new Error(
        `--shared-state: cannot reach Redis at ${redactedUrl(url)} (${(error as Error).message})`,
      );
    }
    return new RedisSharedState(redis, nowSeconds);
  }

  async claimOnce(namespace: string, key: string, expiresAt: number): Promise<ReplayOutcome> {
    // Kept one second past expiresAt, as the in-memory cache keeps it until then inclusive.
    const ttlMs = Math.max(1, expiresAt - this.nowSeconds() + 1) * 1000;
    const set = await this.redis.set(
      `tessera:once:${hashedKey(namespace, key)}`,
      '1',
      'PX',
      ttlMs,
      'NX',
    );
    return set === 'OK' ? 'fresh' : 'replayed';
  }

  async increment(
    namespace: string,
    key: string,
    windowSeconds: number,
    by = 1,
  ): Promise<WindowCount> {
    const { start, end } = windowAt(this.nowSeconds(), windowSeconds);
    const id = this.#key(namespace, key, windowSeconds, start);
    const results = await this.redis
      .multi()
      .incrby(id, by)
      .pexpireat(id, end * 1000 + 1000)
      .exec();
    const [error, count] = results?.[0] ?? [new Error('Redis transaction aborted'), 0];
    if (error) throw error;
    return { count: Number(count), windowStart: start, resetsAt: end };
  }

  async count(namespace: string, key: string, windowSeconds: number): Promise<WindowCount> {
    const { start, end } = windowAt(this.nowSeconds(), windowSeconds);
    const value = await this.redis.get(this.#key(namespace, key, windowSeconds, start));
    return { count: Number(value ?? 0), windowStart: start, resetsAt: end };
  }

  async reset(namespace: string, key: string, windowSeconds: number): Promise<void> {
    const { start } = windowAt(this.nowSeconds(), windowSeconds);
    await this.redis.del(this.#key(namespace, key, windowSeconds, start));
  }

  prune(): Promise<void> {
    return Promise.resolve();
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }

  #key(namespace: string, key: string, windowSeconds: number, start: number): string {
    return `tessera:count:${hashedKey(`${namespace}/${windowSeconds}`, key)}:${start}`;
  }
}

/** A Redis URL may carry a password; messages show the rest. */
function redactedUrl(url: string): string {
  return url.replace(/\/\/([^@/]*)@/, '//[redacted]@');
}

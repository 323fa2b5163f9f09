import type { ReplayOutcome } from '@tessera/protocol';
import type { Redis } from 'ioredis';
import { epochSeconds, HashedSharedState, type CounterWindow } from './shared-state.js';

/**
 * Shared state in Redis (`--shared-state redis://…`): one-time keys with `SET NX PX`, window
 * counters with `INCRBY` + `PEXPIREAT`, so Redis forgets both by itself. ioredis is an
 * optional dependency, loaded only when this backend is configured.
 */
export class RedisSharedState extends HashedSharedState {
  readonly kind = 'redis';

  private constructor(
    private readonly redis: Redis,
    nowSeconds: () => number,
  ) {
    super(nowSeconds);
  }

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

  protected async claimHashed(id: string, expiresAt: number): Promise<ReplayOutcome> {
    // Kept one second past expiresAt, as the in-memory cache keeps it until then inclusive.
    const ttlMs = Math.max(1, expiresAt - this.nowSeconds() + 1) * 1000;
    const set = await this.redis.set(`tessera:once:${id}`, '1', 'PX', ttlMs, 'NX');
    return set === 'OK' ? 'fresh' : 'replayed';
  }

  protected async addToCounter(window: CounterWindow, by: number): Promise<number> {
    const id = counterKey(window);
    const results = await this.redis
      .multi()
      .incrby(id, by)
      .pexpireat(id, window.end * 1000 + 1000)
      .exec();
    const [error, count] = results?.[0] ?? [new Error('Redis transaction aborted'), 0];
    if (error) throw error;
    return Number(count);
  }

  protected async readCounter(window: CounterWindow): Promise<number> {
    return Number((await this.redis.get(counterKey(window))) ?? 0);
  }

  protected async deleteCounter(window: CounterWindow): Promise<void> {
    await this.redis.del(counterKey(window));
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

/** Redis forgets a window's counter by itself: the window is part of its key. */
function counterKey({ id, start }: CounterWindow): string {
  return `tessera:count:${id}:${start}`;
}

/** A Redis URL may carry a password; messages show the rest. */
function redactedUrl(url: string): string {
  return url.replace(/\/\/([^@/]*)@/, '//[redacted]@');
}

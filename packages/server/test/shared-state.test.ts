/**
 * One contract for the shared-state backends (memory, PostgreSQL, Redis): one-time keys and
 * fixed-window counters, what failure counts, jti replay caches and (issue 22) quotas use.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { MemorySharedState } from '../src/shared-state/memory-state.js';
import { PostgresSharedState } from '../src/shared-state/postgres-state.js';
import { RedisSharedState } from '../src/shared-state/redis-state.js';
import type { SharedState } from '../src/shared-state/shared-state.js';
import { PostgresStore } from '../src/store/postgres/postgres-store.js';
import { postgresSkipReason } from './support/postgres.js';
import { createTestSchema, type TestSchema } from './support/postgres-schema.js';
import { redisSkipReason, redisUrl } from './support/redis.js';

interface Backend {
  name: string;
  skip: () => Promise<string | undefined>;
  open: (now: () => number) => Promise<{ state: SharedState; dispose: () => Promise<void> }>;
  /** Whether expiry follows the injected clock (Redis expires keys on its own clock). */
  injectedExpiry: boolean;
}

const backends: Backend[] = [
  {
    name: 'memory',
    skip: () => Promise.resolve(undefined),
    open: (now) => {
      const state = new MemorySharedState(now);
      return Promise.resolve({ state, dispose: () => state.close() });
    },
    injectedExpiry: true,
  },
  {
    name: 'postgres',
    skip: postgresSkipReason,
    open: async (now) => {
      const schema: TestSchema = await createTestSchema('shared_state');
      const store = new PostgresStore(schema.url);
      await store.migrate();
      await store.close();
      const state = new PostgresSharedState(schema.url, now);
      return {
        state,
        dispose: async () => {
          await state.close();
          await schema.drop();
        },
      };
    },
    injectedExpiry: true,
  },
  {
    name: 'redis',
    skip: redisSkipReason,
    open: async (now) => {
      const state = await RedisSharedState.connect(redisUrl, now);
      return { state, dispose: () => state.close() };
    },
    injectedExpiry: false,
  },
];

for (const backend of backends) {
  const skip = await backend.skip();
  describe(`shared state: ${backend.name}`, { skip }, () => {
    let now = Math.floor(Date.now() / 1000);
    let state: SharedState;
    let dispose: () => Promise<void>;
    // Keys unique to this run: a Redis or database left from another run never interferes.
    const ns = (name: string) => `${name}-${randomUUID()}`;

    before(async () => {
      ({ state, dispose } = await backend.open(() => now));
    });
    after(async () => {
      await dispose?.();
    });

    it('tells a one-time key’s first use from a replay, per namespace', async () => {
      const namespace = ns('once');
      const key = randomUUID();
      assert.equal(await state.claimOnce(namespace, key, now + 60), 'fresh');
      assert.equal(await state.claimOnce(namespace, key, now + 60), 'replayed');
      assert.equal(await state.claimOnce(ns('other'), key, now + 60), 'fresh');
    });

    it('forgets a one-time key once it has expired', async () => {
      const namespace = ns('expiry');
      const key = randomUUID();
      assert.equal(await state.claimOnce(namespace, key, now), 'fresh');
      if (backend.injectedExpiry) {
        now += 1;
        await state.prune();
      } else {
        await new Promise((resolve) => setTimeout(resolve, 1_100));
      }
      assert.equal(await state.claimOnce(namespace, key, now + 60), 'fresh');
    });

    it('counts in fixed windows aligned to the epoch, with when each resets', async () => {
      const namespace = ns('count');
      const window = 60;
      const start = Math.floor(now / window) * window;
      assert.deepEqual(await state.increment(namespace, 'k', window), {
        count: 1,
        windowStart: start,
        resetsAt: start + window,
      });
      assert.equal((await state.increment(namespace, 'k', window)).count, 2);
      assert.equal((await state.increment(namespace, 'k', window, 5)).count, 7);
      assert.equal((await state.count(namespace, 'k', window)).count, 7);
      assert.equal((await state.count(namespace, 'other', window)).count, 0);
      assert.equal((await state.increment(namespace, 'k', 3600)).count, 1, 'per window length');
      now = start + window;
      assert.deepEqual(await state.count(namespace, 'k', window), {
        count: 0,
        windowStart: start + window,
        resetsAt: start + 2 * window,
      });
      assert.equal((await state.increment(namespace, 'k', window)).count, 1);
      await state.reset(namespace, 'k', window);
      assert.equal((await state.count(namespace, 'k', window)).count, 0);
    });

    it('counts concurrent increments exactly once each', async () => {
      const namespace = ns('concurrent');
      const counts = await Promise.all(
        Array.from({ length: 50 }, () => state.increment(namespace, 'k', 3600)),
      );
      assert.deepEqual(
        counts.map(({ count }) => count).sort((a, b) => a - b),
        Array.from({ length: 50 }, (_, i) => i + 1),
      );
    });

    it('keeps keys of any length apart', async () => {
      const namespace = ns('long');
      const long = 'x'.repeat(10_000);
      assert.equal(await state.claimOnce(namespace, long, now + 60), 'fresh');
      assert.equal(await state.claimOnce(namespace, `${long}y`, now + 60), 'fresh');
      assert.equal(await state.claimOnce(namespace, long, now + 60), 'replayed');
    });
  });
}

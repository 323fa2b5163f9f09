/**
 * One contract for the shared-state backends (memory, PostgreSQL, Redis): one-time keys and
 * fixed-window counters, what failure counts, jti replay caches and (issue 22) quotas use.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { SharedState } from '../src/shared-state/shared-state.js';
import { sharedStateBackends } from './support/deployment.js';

const backends = sharedStateBackends('shared_state');

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

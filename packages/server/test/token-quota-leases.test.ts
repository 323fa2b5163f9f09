/**
 * The pieces under token quotas (issue 22): the quota parser (property-based: it takes input
 * from the admin API), leases from the shared counter over memory, PostgreSQL and Redis, and
 * the per-process gates that spend them: never more than N granted, and N reachable when one
 * process holds tokens it no longer uses.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { SharedQuotaCounter } from '../src/quotas/quota-counter.js';
import { isRefusal, leaseSize, QuotaGate } from '../src/quotas/quota-gate.js';
import { InvalidQuota, parseTokenQuota } from '../src/quotas/token-quota.js';
import { MemorySharedState } from '../src/shared-state/memory-state.js';
import type { SharedState } from '../src/shared-state/shared-state.js';
import { sharedStateBackends } from './support/deployment.js';

describe('token quota parser', () => {
  it('reads N/PERIOD lists into windows, shortest first, with one canonical text', () => {
    assert.deepEqual(parseTokenQuota(' 5000/d , 10/s'), {
      text: '10/s,5000/d',
      windows: [
        { period: 's', limit: 10, windowSeconds: 1 },
        { period: 'd', limit: 5000, windowSeconds: 86400 },
      ],
    });
    assert.equal(parseTokenQuota('50/min').windows[0]!.windowSeconds, 60);
    for (const bad of ['', '10', '0/s', '-1/s', '1.5/s', '10/week', '10/s,20/s', '10/s,', 'x/h'])
      assert.throws(() => parseTokenQuota(bad), InvalidQuota, bad);
  });

  it('accepts exactly the canonical form of what it parsed, or throws InvalidQuota', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (text) => {
        try {
          const quota = parseTokenQuota(text);
          assert.equal(parseTokenQuota(quota.text).text, quota.text);
          assert.ok(quota.windows.every((w) => Number.isInteger(w.limit) && w.limit > 0));
        } catch (error) {
          assert.ok(error instanceof InvalidQuota);
        }
      }),
    );
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.constantFrom('s', 'min', 'h', 'd'), { minLength: 1 }),
        fc.integer({ min: 1, max: 1e9 }),
        (periods, limit) => {
          const quota = parseTokenQuota(periods.map((p) => `${limit}/${p}`).join(','));
          assert.equal(quota.windows.length, periods.length);
        },
      ),
    );
  });

  it('leases blocks of 1/16 of what is left, 1 near the limit, at most 256', () => {
    assert.equal(leaseSize(5, 0), 1);
    assert.equal(leaseSize(50, 0), 3);
    assert.equal(leaseSize(50, 40), 1);
    assert.equal(leaseSize(1e9, 0), 256);
  });
});

describe('token quota gate while the shared count is unreachable', () => {
  it('counts in the process alone (N there), and says so once per outage through onError', async () => {
    const now = () => 1_800_000_000;
    const errors: unknown[] = [];
    const broken = {
      lease: () => Promise.reject(new Error('connection refused')),
      giveBack: () => {},
      count: () => Promise.reject(new Error('connection refused')),
    };
    const gate = new QuotaGate(broken, {
      local: false,
      nowSeconds: now,
      onError: (error) => errors.push(error),
      fallback: new SharedQuotaCounter(new MemorySharedState(now), now),
    });
    const quota = parseTokenQuota('3/min');
    const admitted: boolean[] = [];
    for (let i = 0; i < 5; i++) admitted.push(!isRefusal(await gate.admit('c', quota)));
    assert.deepEqual(admitted, [true, true, true, false, false]);
    assert.ok(errors.length >= 3);
  });
});

const backends = sharedStateBackends('quota_leases');

const settle = () => new Promise((resolve) => setTimeout(resolve, 50));
/**
 * Give-backs are fire-and-forget writes: on a loaded machine they land later than 50 ms, so
 * the counts they change are polled for (up to 5 s) rather than read once after a fixed wait.
 */
async function countSettles(read: () => Promise<number>, done: (count: number) => boolean) {
  const deadline = Date.now() + 5_000;
  let count = await read();
  while (!done(count) && Date.now() < deadline) {
    await settle();
    count = await read();
  }
  return count;
}

for (const backend of backends) {
  const skip = await backend.skip();
  describe(`token quota leases: ${backend.name}`, { skip }, () => {
    // An hour window starting now-ish: nothing in a run crosses its end.
    const clock = { now: Math.floor(Date.now() / 3_600_000) * 3600 + 60 };
    let state: SharedState;
    let dispose: () => Promise<void>;
    before(async () => {
      ({ state, dispose } = await backend.open(() => clock.now));
    });
    after(async () => {
      await dispose?.();
    });

    it('grants what fits under the limit and gives the rest back at once', async () => {
      const counter = new SharedQuotaCounter(state, () => clock.now);
      const client = randomUUID();
      const first = await counter.lease(client, 3600, 5, 4);
      assert.equal(first.granted, 4);
      assert.equal(first.count, 4);
      const second = await counter.lease(client, 3600, 5, 4);
      assert.equal(second.granted, 1);
      assert.equal(second.count, 5);
      const afterOvershoot = async () => (await counter.count(client, 3600)).count;
      assert.equal(
        await countSettles(afterOvershoot, (n) => n === 5),
        5,
        'the overshoot went back',
      );
      assert.equal((await counter.lease(client, 3600, 5, 1)).granted, 0);
      counter.giveBack(client, 3600, first.windowStart, 2);
      assert.equal(await countSettles(afterOvershoot, (n) => n === 3), 3);
      assert.equal((await counter.lease(client, 3600, 5, 4)).granted, 2);
    });

    it('never grants more than N to gates leasing concurrently', async () => {
      const client = randomUUID();
      const gates = [1, 2, 3].map(
        () =>
          new QuotaGate(new SharedQuotaCounter(state, () => clock.now), {
            local: false,
            nowSeconds: () => clock.now,
          }),
      );
      const quota = parseTokenQuota('40/h');
      const results = await Promise.all(
        Array.from({ length: 90 }, (_, i) => Promise.resolve(gates[i % 3]!.admit(client, quota))),
      );
      assert.equal(results.filter((result) => !isRefusal(result)).length <= 40, true);
      // What the gates hold unspent plus what they spent is what the counter granted.
      const reader = new SharedQuotaCounter(state, () => clock.now);
      const counted = await countSettles(
        async () => (await reader.count(client, 3600)).count,
        (n) => n <= 40,
      );
      assert.ok(counted <= 40, `counted ${counted}`);
    });

    it('hands tokens one process holds idle to another after a second', async () => {
      const client = randomUUID();
      const ms = { now: Date.now() };
      const gate = () =>
        new QuotaGate(new SharedQuotaCounter(state, () => clock.now), {
          local: false,
          nowSeconds: () => clock.now,
          nowMs: () => ms.now,
        });
      const [a, b] = [gate(), gate()];
      const quota = parseTokenQuota('64/h');
      // A leases a block of 4 (64/16) and spends one; B then takes everything else.
      assert.ok(!isRefusal(await a.admit(client, quota)));
      let issuedByB = 0;
      for (let i = 0; i < 70; i++) if (!isRefusal(await b.admit(client, quota))) issuedByB += 1;
      assert.equal(issuedByB, 60, 'A still holds 3');
      ms.now += 1000;
      a.sweep();
      b.sweep();
      await settle();
      for (let i = 0; i < 5; i++) if (!isRefusal(await b.admit(client, quota))) issuedByB += 1;
      assert.equal(issuedByB + 1, 64, 'the client got its 64');
    });
  });
}

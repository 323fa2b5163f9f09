import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ActivityTracker, activityWindowSeconds } from '../src/metrics/activity.js';

const t0 = 1_700_000_000;

/** The non-zero seconds of a series, as [seconds before `now`, issued, failed]. */
function nonZero(series: { issued: number[]; failed: number[] }): Array<[number, number, number]> {
  const out: Array<[number, number, number]> = [];
  const last = series.issued.length - 1;
  series.issued.forEach((issued, i) => {
    const failed = series.failed[i]!;
    if (issued > 0 || failed > 0) out.push([last - i, issued, failed]);
  });
  return out;
}

describe('ActivityTracker', () => {
  it('counts per client and overall, per second and over 24 hours', () => {
    const activity = new ActivityTracker();
    activity.issued('a', t0);
    activity.issued('a', t0);
    activity.failed('a', t0 + 1);
    activity.issued('b', t0 + 1);
    activity.failed(undefined, t0 + 1);
    assert.deepEqual(nonZero(activity.series(t0 + 1)), [
      [1, 2, 0],
      [0, 1, 2],
    ]);
    assert.deepEqual(nonZero(activity.series(t0 + 1, 'a')), [
      [1, 2, 0],
      [0, 0, 1],
    ]);
    assert.deepEqual(activity.clients(t0 + 1), [
      { clientId: 'a', issued: 2, failed: 1, lastUsedAt: t0 },
      { clientId: 'b', issued: 1, failed: 0, lastUsedAt: t0 + 1 },
    ]);
  });

  it('keeps per-second series for the most recently active clients only, and a reused series starts empty', () => {
    const activity = new ActivityTracker({ seriesCapacity: 2 });
    activity.issued('a', t0);
    activity.issued('a', t0 + 5);
    activity.issued('b', t0 + 5);
    // 'c' takes over the least recently active series ('a'), in the very second 'a' last used.
    activity.issued('c', t0 + 5);
    assert.deepEqual(nonZero(activity.series(t0 + 5, 'a')), []);
    assert.deepEqual(nonZero(activity.series(t0 + 5, 'c')), [[0, 1, 0]]);
    activity.issued('c', t0 + 6);
    assert.deepEqual(nonZero(activity.series(t0 + 6, 'c')), [
      [1, 1, 0],
      [0, 1, 0],
    ]);
    // A full window later the previous owner's slots would line up again: still not counted.
    const later = t0 + activityWindowSeconds;
    assert.deepEqual(
      nonZero(activity.series(later, 'c')),
      [
        [activityWindowSeconds - 6, 1, 0],
        [activityWindowSeconds - 5, 1, 0],
      ].reverse(),
    );
    assert.deepEqual(nonZero(activity.series(t0 + 6, 'b')), [[1, 1, 0]]);
  });

  it('a reused series is still right when the clock steps back past its reuse', () => {
    const activity = new ActivityTracker({ seriesCapacity: 1 });
    activity.issued('a', t0);
    activity.issued('a', t0 + 10);
    activity.issued('b', t0 + 10);
    activity.issued('b', t0);
    assert.deepEqual(nonZero(activity.series(t0 + 10, 'b')), [
      [10, 1, 0],
      [0, 1, 0],
    ]);
  });

  it('a series reused after the clock stepped back does not inherit newer counts', () => {
    const activity = new ActivityTracker({ seriesCapacity: 1 });
    activity.issued('a', t0 + 10);
    activity.issued('b', t0);
    activity.issued('b', t0 + 10);
    assert.deepEqual(nonZero(activity.series(t0 + 10, 'b')), [
      [10, 1, 0],
      [0, 1, 0],
    ]);
  });

  it('keeps 24-hour counts for at most clientCapacity clients, reused counts start empty', () => {
    const activity = new ActivityTracker({ clientCapacity: 2 });
    activity.issued('a', t0);
    activity.failed('a', t0);
    activity.issued('b', t0 + 1);
    activity.failed('c', t0 + 2);
    assert.deepEqual(activity.clients(t0 + 2), [
      { clientId: 'b', issued: 1, failed: 0, lastUsedAt: t0 + 1 },
      { clientId: 'c', issued: 0, failed: 1, lastUsedAt: null },
    ]);
    assert.deepEqual(
      activity.top(t0 + 2, 1).map((client) => client.clientId),
      ['b'],
    );
  });

  it('stays bounded with 10,000 clients in turn', () => {
    const activity = new ActivityTracker({ clientCapacity: 1_000, seriesCapacity: 16 });
    for (let i = 0; i < 30_000; i += 1) activity.issued(`client-${i % 10_000}`, t0 + (i >> 10));
    const clients = activity.clients(t0 + 30);
    assert.equal(clients.length, 1_000);
    assert.equal(clients.at(-1)!.clientId, 'client-9999');
    assert.deepEqual(nonZero(activity.series(t0 + 30, 'client-9999')), [[1, 1, 0]]);
    assert.deepEqual(nonZero(activity.series(t0 + 30, 'client-0')), []);
    assert.equal(
      nonZero(activity.series(t0 + 30)).reduce((sum, [, issued]) => sum + issued, 0),
      30_000,
    );
  });
});

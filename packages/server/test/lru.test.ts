import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { LruMap } from '../src/lib/lru.js';

/** The previous implementation (a Map reordered by delete + set), as the reference model. */
class ReferenceLru<K, V> {
  readonly entries = new Map<K, V>();
  constructor(readonly capacity: number) {}
  get(key: K): V | undefined {
    const value = this.entries.get(key);
    if (value !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, value);
    }
    return value;
  }
  set(key: K, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, value);
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!);
  }
}

describe('LruMap', () => {
  it('evicts the least recently used entry; get refreshes, peek does not', () => {
    const lru = new LruMap<string, number>(3);
    lru.set('a', 1);
    lru.set('b', 2);
    lru.set('c', 3);
    assert.equal(lru.get('a'), 1);
    assert.equal(lru.peek('b'), 2);
    lru.set('d', 4);
    assert.deepEqual(
      [...lru.entries()],
      [
        ['c', 3],
        ['a', 1],
        ['d', 4],
      ],
    );
    assert.equal(lru.get('b'), undefined);
    assert.equal(lru.size, 3);
  });

  it('set on an existing key replaces the value and makes it recent', () => {
    const lru = new LruMap<string, number>(2);
    lru.set('a', 1);
    lru.set('b', 2);
    lru.set('a', 10);
    lru.set('c', 3);
    assert.deepEqual(
      [...lru.entries()],
      [
        ['a', 10],
        ['c', 3],
      ],
    );
  });

  it('evictOldest removes and returns the least recently used value', () => {
    const lru = new LruMap<string, number>(3);
    assert.equal(lru.evictOldest(), undefined);
    lru.set('a', 1);
    lru.set('b', 2);
    lru.get('a');
    assert.equal(lru.evictOldest(), 2);
    assert.equal(lru.evictOldest(), 1);
    assert.equal(lru.size, 0);
    lru.set('c', 3);
    assert.deepEqual([...lru.entries()], [['c', 3]]);
  });

  it('delete and clear keep the order of what remains', () => {
    const lru = new LruMap<string, number>(4);
    for (const [i, key] of ['a', 'b', 'c', 'd'].entries()) lru.set(key, i);
    lru.delete('b');
    lru.delete('d');
    lru.delete('missing');
    assert.deepEqual(
      [...lru.entries()],
      [
        ['a', 0],
        ['c', 2],
      ],
    );
    lru.clear();
    assert.equal(lru.size, 0);
    assert.deepEqual([...lru.entries()], []);
    lru.set('e', 5);
    assert.deepEqual([...lru.entries()], [['e', 5]]);
  });

  it('stays bounded under a stream of new keys (the 10,000-client token load)', () => {
    const lru = new LruMap<number, { n: number }>(128);
    for (let i = 0; i < 100_000; i += 1) {
      lru.get(i % 10_000);
      lru.set(i % 10_000, { n: i });
      assert.ok(lru.size <= 128);
    }
    assert.deepEqual(
      [...lru.entries()].map(([key]) => key),
      Array.from({ length: 128 }, (_, i) => 10_000 - 128 + i),
    );
  });

  it('behaves exactly like the delete-and-set Map it replaced', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('get' as const), key: fc.integer({ min: 0, max: 12 }) }),
      fc.record({ kind: fc.constant('peek' as const), key: fc.integer({ min: 0, max: 12 }) }),
      fc.record({ kind: fc.constant('set' as const), key: fc.integer({ min: 0, max: 12 }) }),
      fc.record({ kind: fc.constant('delete' as const), key: fc.integer({ min: 0, max: 12 }) }),
      fc.record({ kind: fc.constant('evict' as const), key: fc.constant(0) }),
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 6 }),
        fc.array(op, { maxLength: 200 }),
        (capacity, ops) => {
          const lru = new LruMap<number, number>(capacity);
          const ref = new ReferenceLru<number, number>(capacity);
          ops.forEach(({ kind, key }, step) => {
            if (kind === 'get') assert.equal(lru.get(key), ref.get(key));
            else if (kind === 'peek') assert.equal(lru.peek(key), ref.entries.get(key));
            else if (kind === 'set') {
              lru.set(key, step);
              ref.set(key, step);
            } else if (kind === 'delete') {
              lru.delete(key);
              ref.entries.delete(key);
            } else {
              const oldest = ref.entries.entries().next();
              if (!oldest.done) ref.entries.delete(oldest.value[0]);
              assert.equal(lru.evictOldest(), oldest.done ? undefined : oldest.value[1]);
            }
            assert.deepEqual([...lru.entries()], [...ref.entries.entries()]);
            assert.equal(lru.size, ref.entries.size);
          });
        },
      ),
    );
  });
});

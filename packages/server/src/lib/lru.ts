interface Node<K, V> {
  key: K;
  value: V;
  /** Towards the least recently used end. */
  older: Node<K, V> | undefined;
  /** Towards the most recently used end. */
  newer: Node<K, V> | undefined;
}

/**
 * A size-bounded map that evicts the least recently used entry.
 *
 * Recency is a doubly linked list beside the `Map`, so a hit moves a node with a few pointer
 * writes. Reordering the `Map` itself (delete, then set) on every hit left a deleted slot per
 * read, and V8 rebuilds the hash table as those accumulate: an allocation proportional to
 * the map's size every few thousand hits on the token path's client cache.
 */
export class LruMap<K, V> {
  readonly #nodes = new Map<K, Node<K, V>>();
  #oldest: Node<K, V> | undefined;
  #newest: Node<K, V> | undefined;
  #spare: Node<K, V> | undefined;

  constructor(readonly capacity: number) {}

  get(key: K): V | undefined {
    const node = this.#nodes.get(key);
    if (node === undefined) return undefined;
    this.#touch(node);
    return node.value;
  }

  /** Reads without making the entry recent. */
  peek(key: K): V | undefined {
    return this.#nodes.get(key)?.value;
  }

  /** Entries from least to most recently used. */
  *entries(): IterableIterator<[K, V]> {
    for (let node = this.#oldest; node !== undefined; node = node.newer) {
      yield [node.key, node.value];
    }
  }

  set(key: K, value: V): void {
    const existing = this.#nodes.get(key);
    if (existing !== undefined) {
      existing.value = value;
      this.#touch(existing);
      return;
    }
    // Reuse the node of the entry evicted last, if any: a full map that takes a new key per
    // request then allocates nothing here.
    const spare = this.#spare;
    let node: Node<K, V>;
    if (spare === undefined) {
      node = { key, value, older: this.#newest, newer: undefined };
    } else {
      this.#spare = undefined;
      node = spare;
      node.key = key;
      node.value = value;
      node.older = this.#newest;
    }
    if (this.#newest === undefined) this.#oldest = node;
    else this.#newest.newer = node;
    this.#newest = node;
    this.#nodes.set(key, node);
    if (this.#nodes.size > this.capacity) this.evictOldest();
  }

  /**
   * Removes the least recently used entry and returns its value, so a caller about to insert
   * into a full map can reuse the evicted value's memory instead of allocating.
   */
  evictOldest(): V | undefined {
    const oldest = this.#oldest;
    if (oldest === undefined) return undefined;
    this.#nodes.delete(oldest.key);
    this.#unlink(oldest);
    const value = oldest.value;
    this.#keepSpare(oldest);
    return value;
  }

  delete(key: K): void {
    const node = this.#nodes.get(key);
    if (node === undefined) return;
    this.#nodes.delete(key);
    this.#unlink(node);
  }

  clear(): void {
    this.#nodes.clear();
    this.#oldest = undefined;
    this.#newest = undefined;
  }

  get size(): number {
    return this.#nodes.size;
  }

  /** Makes `node` the most recently used. */
  #touch(node: Node<K, V>): void {
    if (node === this.#newest) return;
    // Not the newest, so it has a newer neighbour.
    const newer = node.newer!;
    const older = node.older;
    newer.older = older;
    if (older === undefined) this.#oldest = newer;
    else older.newer = newer;
    node.older = this.#newest;
    node.newer = undefined;
    this.#newest!.newer = node;
    this.#newest = node;
  }

  /** Keeps one unlinked node for the next insert, holding neither its key nor its value. */
  #keepSpare(node: Node<K, V>): void {
    node.key = undefined as K;
    node.value = undefined as V;
    this.#spare = node;
  }

  #unlink(node: Node<K, V>): void {
    const { older, newer } = node;
    if (older === undefined) this.#oldest = newer;
    else older.newer = newer;
    if (newer === undefined) this.#newest = older;
    else newer.older = older;
    node.older = undefined;
    node.newer = undefined;
  }
}

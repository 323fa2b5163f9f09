/**
 * Counts keyed by up to two label values, as plain numbers in nested maps: incrementing an
 * existing cell allocates nothing, which keeps the token endpoint's hot path free of the
 * label hashing prom-client does per call. Scrapes copy the cells into prom-client metrics.
 * Callers keep the label values to a small fixed set (error codes, method names).
 */
export class CountTable {
  readonly #rows = new Map<string, Map<string, number>>();

  inc(first: string, second = '', by = 1): void {
    let row = this.#rows.get(first);
    if (!row) {
      row = new Map();
      this.#rows.set(first, row);
    }
    row.set(second, (row.get(second) ?? 0) + by);
  }

  get(first: string, second = ''): number {
    return this.#rows.get(first)?.get(second) ?? 0;
  }

  *cells(): IterableIterator<[string, string, number]> {
    for (const [first, row] of this.#rows) {
      for (const [second, count] of row) yield [first, second, count];
    }
  }
}

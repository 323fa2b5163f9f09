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

/**
 * Issue 21: a {@link CountTable} per tenant, exported with a `tenant` label (the default
 * tenant's requests under `default`). Only tenants of the deployment get a table (the
 * request hooks check the name), so label values stay bounded by the tenant count.
 */
export class TenantCountTable {
  readonly #tables = new Map<string, CountTable>();

  /** The tenant's counts, made on its first count. */
  of(tenant: string): CountTable {
    let table = this.#tables.get(tenant);
    if (!table) {
      table = new CountTable();
      this.#tables.set(tenant, table);
    }
    return table;
  }

  /** A count of tenant `tenant` (the default tenant's when not given). */
  inc(first: string, second = '', by = 1, tenant = 'default'): void {
    this.of(tenant).inc(first, second, by);
  }

  get(first: string, second = '', tenant = 'default'): number {
    return this.#tables.get(tenant)?.get(first, second) ?? 0;
  }

  *cells(): IterableIterator<[string, string, string, number]> {
    for (const [tenant, table] of this.#tables)
      for (const [first, second, count] of table.cells()) yield [tenant, first, second, count];
  }
}

/** Upper bounds (seconds) sized for a token endpoint that answers in well under 10 ms. */
export const latencyBuckets = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
] as const;

interface MetricValue {
  value: number;
  labels: Record<string, string | number>;
  metricName: string;
}

/** One tenant's buckets (the last is +Inf) and sum. */
interface Series {
  readonly counts: Float64Array;
  sum: number;
}

/**
 * A Prometheus histogram labelled only by `tenant` (issue 21) whose `observe` is a map
 * lookup, a bucket search and three additions on preallocated arrays: a tenant's series is
 * allocated on its first observation, nothing after. Callers pass only tenants of the
 * deployment (http-metrics.ts `tenantLabel`), so the series stay bounded. It implements the
 * shape prom-client's `Registry` serializes (`name`, `help`, `type`, `get()`), so it sits in
 * the same registry as the rest; the primary of `serve --workers N` sums it by label set.
 */
export class LatencyHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly #series = new Map<string, Series>();

  constructor(
    readonly name: string,
    readonly help: string,
  ) {
    // The default tenant's series exists from the start, as the unlabelled one did.
    this.#seriesOf('default');
  }

  #seriesOf(tenant: string): Series {
    let series = this.#series.get(tenant);
    if (series === undefined) {
      series = { counts: new Float64Array(latencyBuckets.length + 1), sum: 0 };
      this.#series.set(tenant, series);
    }
    return series;
  }

  observe(seconds: number, tenant = 'default'): void {
    const series = this.#seriesOf(tenant);
    let bucket = 0;
    while (bucket < latencyBuckets.length && seconds > latencyBuckets[bucket]!) bucket += 1;
    series.counts[bucket]! += 1;
    series.sum += seconds;
  }

  /** Observations so far, of one tenant or of all. */
  count(tenant?: string): number {
    let total = 0;
    for (const [name, series] of this.#series)
      if (tenant === undefined || name === tenant)
        total += series.counts.reduce((sum, count) => sum + count, 0);
    return total;
  }

  get() {
    const values: MetricValue[] = [];
    const bucketName = `${this.name}_bucket`;
    for (const [tenant, { counts, sum }] of this.#series) {
      let cumulative = 0;
      latencyBuckets.forEach((bound, i) => {
        cumulative += counts[i]!;
        values.push({ value: cumulative, labels: { tenant, le: bound }, metricName: bucketName });
      });
      cumulative += counts[latencyBuckets.length]!;
      values.push({ value: cumulative, labels: { tenant, le: '+Inf' }, metricName: bucketName });
      values.push({ value: sum, labels: { tenant }, metricName: `${this.name}_sum` });
      values.push({ value: cumulative, labels: { tenant }, metricName: `${this.name}_count` });
    }
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      values,
      aggregator: this.aggregator,
    };
  }
}

/** Upper bounds (seconds) sized for a token endpoint that answers in well under 10 ms. */
export const latencyBuckets = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
] as const;

interface MetricValue {
  value: number;
  labels: Record<string, string | number>;
  metricName: string;
}

/**
 * A Prometheus histogram without labels whose `observe` is a bucket search and three
 * additions on preallocated arrays. It implements the shape prom-client's `Registry`
 * serializes (`name`, `help`, `type`, `get()`), so it sits in the same registry as the rest.
 */
export class LatencyHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly #counts = new Float64Array(latencyBuckets.length + 1);
  #sum = 0;

  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  observe(seconds: number): void {
    let bucket = 0;
    while (bucket < latencyBuckets.length && seconds > latencyBuckets[bucket]!) bucket += 1;
    this.#counts[bucket]! += 1;
    this.#sum += seconds;
  }

  get count(): number {
    return this.#counts.reduce((total, count) => total + count, 0);
  }

  get() {
    const values: MetricValue[] = [];
    let cumulative = 0;
    latencyBuckets.forEach((bound, i) => {
      cumulative += this.#counts[i]!;
      values.push({ value: cumulative, labels: { le: bound }, metricName: `${this.name}_bucket` });
    });
    cumulative += this.#counts[latencyBuckets.length]!;
    values.push({ value: cumulative, labels: { le: '+Inf' }, metricName: `${this.name}_bucket` });
    values.push({ value: this.#sum, labels: {}, metricName: `${this.name}_sum` });
    values.push({ value: cumulative, labels: {}, metricName: `${this.name}_count` });
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      values,
      aggregator: this.aggregator,
    };
  }
}

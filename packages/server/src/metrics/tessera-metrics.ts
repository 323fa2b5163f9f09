import { Counter, Gauge, Registry } from 'prom-client';
import type { KeyRecord, ReplicationState } from '../store/contract.js';
import { ActivityTracker, type ClientActivity } from './activity.js';
import { CountTable, TenantCountTable } from './count-table.js';
import { LatencyHistogram } from './latency-histogram.js';
import { serverVersion } from '../version.js';

/** Per-client series exported to Prometheus: the busiest clients only, to bound cardinality. */
export const topClientSeries = 20;

/** A client cache's counts (registry/client-cache.ts `ClientCache`). */
export interface ClientCacheCounts {
  readonly hits: number;
  /** Misses: each one store read. */
  readonly storeReads: number;
  readonly size: number;
}

/** What the scrape-time gauges read: the process's key ring and client caches. */
export interface MetricSources {
  keys: () => readonly KeyRecord[];
  /** The client cache of each tenant context built so far, the default tenant's first. */
  clientCaches: () => Iterable<[tenant: string, cache: ClientCacheCounts]>;
  /** The replica this instance reads, when it reads one (`--database-replica`). */
  replication?: () => ReplicationState | undefined;
}

/** One metric as prom-client's `getMetricsAsJSON()` gives it (sent between processes). */
export interface MetricJson {
  name: string;
  help: string;
  type: string;
  aggregator: string;
  values: Array<{ value: number; labels: Record<string, string | number>; metricName?: string }>;
}

/**
 * The instance's numbers when they are not this process's alone: under `serve --workers N`
 * the primary adds up every worker's (process/shared-metrics.ts).
 */
export interface InstanceMetrics {
  scrape(): Promise<string>;
  activitySeries(now: number, clientId?: string): Promise<{ issued: number[]; failed: number[] }>;
  activityClients(now: number): Promise<ClientActivity[]>;
}

/**
 * The process's metrics: one prom-client `Registry` (never the global one, so several
 * servers in one process keep separate counts) plus the plain counters the request hooks
 * bump. Counters on the token path are plain numbers copied into prom-client at scrape time.
 */
export class TesseraMetrics {
  readonly registry = new Registry();
  /**
   * Brute-force lockouts started, by what was locked (`client_id`: one client_id from one
   * source address; `address`: one source address) and tenant (issue 21: each tenant counts
   * apart). Exported as `tessera_auth_lockouts_total`; the failure limiter's
   * `lockout.started` events increment it.
   */
  readonly lockouts = new TenantCountTable();
  /**
   * Alerts for one client_id failing from several addresses, which refuse nobody
   * (`tessera_auth_failure_alerts_total`, issue 16), by tenant. No client label: the log
   * line names it.
   */
  readonly failureAlerts = new TenantCountTable();
  /**
   * Token requests past their client's quota (`tessera_token_quota_refusals_total`, issue
   * 22), by mode: `enforce` refused them (429); `observe` let them through; and by tenant.
   */
  readonly quotaRefusals = new TenantCountTable();
  /**
   * Token requests by outcome (`issued` or the OAuth error code) and auth method. This one
   * and the next three count per tenant (issue 21: a `tenant` label, `default` for the
   * server's own).
   */
  readonly tokenRequests = new TenantCountTable();
  /** Failed client authentications by reason, at every endpoint that authenticates clients. */
  readonly authFailures = new TenantCountTable();
  /** Revocation requests by outcome (`revoked` or the OAuth error code). */
  readonly revocations = new TenantCountTable();
  /** Introspection requests by outcome (`answered` or the OAuth error code). */
  readonly introspections = new TenantCountTable();
  /** Failed store calls by operation. */
  readonly storeErrors = new CountTable();
  /** Token hook calls that gave no usable answer, by reason (issue 19) and tenant. */
  readonly tokenHookFailures = new TenantCountTable();
  /** Token endpoint latency by tenant (issue 21). */
  readonly tokenLatency = new LatencyHistogram(
    'tessera_token_request_duration_seconds',
    'Token endpoint response time, from request received to response sent',
  );
  readonly activity = new ActivityTracker();
  #sources: MetricSources | undefined;
  /** Set in a worker of `serve --workers N`: scrapes and the console read the instance's. */
  instance: InstanceMetrics | undefined;

  constructor(
    readonly nowSeconds: () => number,
    /** `--metrics-client-labels`: publish the per-client gauges (client_ids). Default off. */
    clientLabels = false,
  ) {
    const registry = this.registry;
    fromTable(registry, this.lockouts, 'tessera_auth_lockouts_total', {
      help: 'Brute-force lockouts started, by what was locked (client_id from one address, or address)',
      labels: ['key'],
    });
    fromTable(registry, this.failureAlerts, 'tessera_auth_failure_alerts_total', {
      help: 'A client_id failing authentication from several addresses (nobody is refused)',
      labels: [],
    });
    fromTable(registry, this.quotaRefusals, 'tessera_token_quota_refusals_total', {
      help: 'Token requests past their client quota, by mode (enforce: refused with 429; observe: let through)',
      labels: ['mode'],
    });
    fromTable(registry, this.tokenRequests, 'tessera_token_requests_total', {
      help: 'Token requests by outcome (issued, or the OAuth error code) and client auth method',
      labels: ['outcome', 'auth_method'],
    });
    registry.registerMetric(this.tokenLatency as never);
    fromTable(registry, this.authFailures, 'tessera_client_auth_failures_total', {
      help: 'Failed client authentications by reason',
      labels: ['reason'],
    });
    fromTable(registry, this.revocations, 'tessera_revocation_requests_total', {
      help: 'Revocation requests (RFC 7009) by outcome',
      labels: ['outcome'],
    });
    fromTable(registry, this.introspections, 'tessera_introspection_requests_total', {
      help: 'Introspection requests (RFC 7662) by outcome',
      labels: ['outcome'],
    });
    fromTable(registry, this.storeErrors, 'tessera_store_errors_total', {
      help: 'Failed store calls by operation',
      labels: ['operation'],
    });
    fromTable(registry, this.tokenHookFailures, 'tessera_token_hook_failures_total', {
      help: 'Token hook calls without a usable answer, by reason (timeout, connection, status, too_large, malformed)',
      labels: ['reason'],
    });

    // The usual Prometheus build-info series: join on it to see which version each target runs.
    new Gauge({
      name: 'tessera_build_info',
      help: 'Always 1, labelled with the running Tessera version and Node.js version',
      labelNames: ['version', 'node'],
      aggregator: 'max',
      registers: [registry],
    }).set({ version: serverVersion, node: process.versions.node }, 1);

    const sources = () => this.#sources;
    new Gauge({
      name: 'tessera_signing_key_age_seconds',
      help: 'Age of each signing key still in the JWKS, by kid, alg and state',
      labelNames: ['kid', 'alg', 'state'],
      // Every worker holds the same keys: across workers, the largest (any one) is the answer.
      aggregator: 'max',
      registers: [registry],
      collect() {
        this.reset();
        const now = nowSeconds();
        for (const key of sources()?.keys() ?? []) {
          if (key.state === 'retired') continue;
          this.set({ kid: key.kid, alg: key.alg, state: key.state }, now - key.createdAt);
        }
      },
    });
    const caches = new CacheTotals();
    new Counter({
      name: 'tessera_client_cache_lookups_total',
      help: 'Client cache lookups by result (hit, or miss: one store read) and tenant',
      labelNames: ['result', 'tenant'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [tenant, hits, misses] of caches.totals(sources()?.clientCaches() ?? [])) {
          this.inc({ result: 'hit', tenant }, hits);
          this.inc({ result: 'miss', tenant }, misses);
        }
      },
    });
    new Gauge({
      name: 'tessera_client_cache_entries',
      help: "Clients held in the in-memory cache, by tenant (the largest of the workers' caches)",
      labelNames: ['tenant'],
      // Each worker caches the clients it has seen: a sum would count a client once per worker.
      aggregator: 'max',
      registers: [registry],
      collect() {
        this.reset();
        for (const [tenant, cache] of sources()?.clientCaches() ?? [])
          this.set({ tenant }, cache.size);
      },
    });
    const activity = this.activity;
    // client_ids are identifiers an outsider can aim at (issue 16): off unless switched on.
    if (!clientLabels) return;
    for (const [name, help, field] of [
      ['tessera_client_tokens_issued_24h', 'Tokens issued over the last 24 h', 'issued'],
      ['tessera_client_auth_failures_24h', 'Failed authentications over the last 24 h', 'failed'],
    ] as const) {
      new Gauge({
        name,
        help: `${help}, for the ${topClientSeries} busiest clients only (bounded cardinality)`,
        labelNames: ['client_id'],
        registers: [registry],
        collect() {
          this.reset();
          for (const client of activity.top(nowSeconds(), topClientSeries)) {
            this.set({ client_id: client.clientId }, client[field]);
          }
        },
      });
    }
  }

  /** Connects the scrape-time gauges to the key ring and client cache once they exist. */
  watch(sources: MetricSources): void {
    this.#sources = sources;
    const replication = sources.replication;
    if (replication?.() !== undefined) registerReplicaGauges(this.registry, replication);
  }

  /** The Prometheus text exposition of every metric, the instance's. */
  async scrape(): Promise<{ contentType: string; body: string }> {
    const body = await (this.instance?.scrape() ?? this.registry.metrics());
    return { contentType: this.registry.contentType, body };
  }

  /** The console's per-second counts for the window ending at `now`, the instance's. */
  async activitySeries(
    now: number,
    clientId?: string,
  ): Promise<{ issued: number[]; failed: number[] }> {
    return this.instance?.activitySeries(now, clientId) ?? this.activity.series(now, clientId);
  }

  /** The console's 24-hour counts per client, the instance's. */
  async activityClients(now: number): Promise<ClientActivity[]> {
    return this.instance?.activityClients(now) ?? this.activity.clients(now);
  }
}

/**
 * A prom-client counter whose values are copied from a `CountTable` at scrape time; from a
 * `TenantCountTable`, with a last label `tenant`. The primary of `serve --workers N` sums
 * the workers' series label set by label set (process/shared-metrics.ts), tenant included.
 */
function fromTable(
  registry: Registry,
  table: CountTable | TenantCountTable,
  name: string,
  options: { help: string; labels: [] | [string] | [string, string] },
): void {
  const [first, second] = options.labels;
  const labelsOf = (a: string, b: string): Record<string, string> =>
    first === undefined ? {} : second === undefined ? { [first]: a } : { [first]: a, [second]: b };
  new Counter({
    name,
    help: options.help,
    labelNames: table instanceof TenantCountTable ? [...options.labels, 'tenant'] : options.labels,
    registers: [registry],
    collect() {
      this.reset();
      if (table instanceof TenantCountTable)
        for (const [tenant, a, b, count] of table.cells())
          this.inc({ ...labelsOf(a, b), tenant }, count);
      else for (const [a, b, count] of table.cells()) this.inc(labelsOf(a, b), count);
    },
  });
}

/**
 * Per tenant, the client cache lookups of every context it has had: a changed tenant's
 * context (and cache) is rebuilt, and its counts must carry on, not restart (a counter).
 * A deleted tenant's totals stay as they were; tenants are a bounded set.
 */
class CacheTotals {
  readonly #tenants = new Map<string, { cache: ClientCacheCounts; hits: number; misses: number }>();

  *totals(
    caches: Iterable<[string, ClientCacheCounts]>,
  ): IterableIterator<[tenant: string, hits: number, misses: number]> {
    for (const [tenant, cache] of caches) {
      const seen = this.#tenants.get(tenant);
      if (seen === undefined) this.#tenants.set(tenant, { cache, hits: 0, misses: 0 });
      else if (seen.cache !== cache) {
        // The earlier cache's counts, as they ended, become the base of the new one's.
        seen.hits += seen.cache.hits;
        seen.misses += seen.cache.storeReads;
        seen.cache = cache;
      }
    }
    for (const [tenant, { cache, hits, misses }] of this.#tenants)
      yield [tenant, hits + cache.hits, misses + cache.storeReads];
  }
}

/** Only on instances that read a replica: how far behind it is, and whether it answers. */
function registerReplicaGauges(
  registry: Registry,
  replication: () => ReplicationState | undefined,
): void {
  new Gauge({
    name: 'tessera_replica_lag_seconds',
    help: 'How far the database replica this instance reads is behind the primary (s), at its last poll',
    registers: [registry],
    collect() {
      this.set(replication()?.lagSeconds ?? 0);
    },
  });
  new Gauge({
    name: 'tessera_replica_up',
    help: 'Whether the last poll reached the database replica this instance reads (1) or not (0)',
    registers: [registry],
    collect() {
      this.set(replication()?.reachable ? 1 : 0);
    },
  });
}
